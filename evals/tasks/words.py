"""Fixed vocabularies and seeded word makers shared by the generators.

FILLER_WORDS are each one cl100k token with and without a leading space, so a filler
line of k words costs exactly k tokens plus one for its newline: contexts are fitted to
size by arithmetic instead of re-tokenising millions of lines.
"""
from __future__ import annotations

import random
import uuid

FILLER_WORDS = (
    "apple river table window silver yellow quick brown forest paper letter doctor teacher market "
    "castle bridge tower winter summer spring night shadow light stone metal glass golden orange "
    "purple green blue black white happy quiet simple bright little large small modern animal bird "
    "horse rabbit turtle monkey camel music story dream voice friend family mother father child "
    "people person world country city street house room door floor wall roof basket button ribbon "
    "hammer engine wheel rocket planet moon star cloud storm rain snow wind fire water earth field "
    "farm wagon train plane boat ship anchor sand shell king queen hunter writer player coffee bread "
    "salt bean corn rice chair bench shelf drawer mirror lamp clock bell circle square corner edge "
    "center middle border line point answer question reason method system office school library "
    "church hospital station airport north south east west travel path road trail track route map "
    "compass signal message iron steel diamond ruby amber canvas lake pond stream bay hill peak ridge "
    "slope plain walk run jump dance sing write read paint build carry throw catch hold break open "
    "close early late always never often almost already perhaps maybe again still even quite rather"
).split()

ADJECTIVES = (
    "able bitter brave calm cheerful clever cold crisp curious damp eager early fancy fierce gentle "
    "giant glossy grumpy hollow humble icy jolly keen lively lucky mellow misty noble odd pale plain "
    "proud rapid rare rough rusty shiny silent sleepy smooth snowy sour spicy steady sticky stormy "
    "sunny swift tender tidy tiny vast wary wild windy witty young zesty"
).split()

NOUNS = (
    "acorn badge barrel beacon blossom boulder cabin canyon carrot cedar comet cottage crayon "
    "dolphin falcon feather fiddle garnet glacier harbor hazel helmet island jacket kettle lantern "
    "lemon lizard magnet maple meadow mitten needle oyster paddle parrot pebble pepper pillow pirate "
    "quilt raven saddle sapphire scarf spruce squirrel teapot thistle tulip violin walnut whistle"
).split()

_SYLLABLES = (
    "ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni "
    "no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo za ze zi zo"
).split()
_CODAS = ("", "", "n", "r", "l", "s", "th", "m")


def pseudo_word(rng: random.Random, syllables: int = 3) -> str:
    """A pronounceable made-up lowercase word, e.g. "kelomir"."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)) + rng.choice(_CODAS)


def unique_pseudo_words(rng: random.Random, count: int, syllables: int = 3,
                        exclude: set[str] | None = None) -> list[str]:
    """`count` distinct made-up words (in generation order, so deterministic, and the first k
    the same for any count >= k); drawn in bulk because large lists need hundreds of thousands."""
    seen = set(exclude or ())
    words: list[str] = []
    while len(words) < count:
        batch = 1024  # fixed: the first k words are the same whatever `count` is (RULER's fit relies on it)
        parts = rng.choices(_SYLLABLES, k=batch * syllables)
        codas = rng.choices(_CODAS, k=batch)
        for i in range(batch):
            word = "".join(parts[i * syllables:(i + 1) * syllables]) + codas[i]
            if word not in seen:
                seen.add(word)
                words.append(word)
                if len(words) == count:
                    break
    return words


def seven_digit(rng: random.Random) -> str:
    return str(rng.randint(1_000_000, 9_999_999))


def word_pair(rng: random.Random) -> str:
    """RULER-style word value or key: "adjective-noun"."""
    return f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


MAKERS = {"numbers": seven_digit, "words": word_pair, "uuids": seeded_uuid}


def distinct(rng: random.Random, kind: str, count: int, exclude: set[str] | None = None) -> list[str]:
    """`count` distinct values of a RULER type ("numbers", "words" or "uuids")."""
    make = MAKERS[kind]
    seen = set(exclude or ())
    out: list[str] = []
    while len(out) < count:
        value = make(rng)
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out
