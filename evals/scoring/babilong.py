"""BABILong's scoring (booydar/babilong, babilong/metrics.py: compare_answers).

Only the reply's first sentence counts (lowercased, cut at the first period, and at any
`<context>` / `<example>` the model starts to write). It is right when it names the
target and no other label of the task; labels named in the question never count.
"""
from __future__ import annotations

# The label set of every bAbI task, as BABILong scores it.
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "qa1": ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office"),
    "qa2": ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office"),
    "qa3": ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office"),
    "qa4": ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office"),
    "qa5": ("Bill", "Fred", "Jeff", "Mary", "apple", "football", "milk"),
    "qa6": ("no", "yes"),
    "qa7": ("none", "one", "three", "two"),
    "qa8": ("apple", "football", "milk", "nothing"),
    "qa9": ("no", "yes"),
    "qa10": ("maybe", "no", "yes"),
    "qa11": ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office"),
    "qa12": ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office"),
    "qa13": ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office"),
    "qa14": ("bedroom", "cinema", "kitchen", "office", "park", "school"),
    "qa15": ("cat", "mouse", "sheep", "wolf"),
    "qa16": ("gray", "green", "white", "yellow"),
    "qa17": ("no", "yes"),
    "qa18": ("no", "yes"),
    "qa19": ("e,e", "e,n", "e,s", "n,e", "n,n", "n,w", "s,e", "s,s", "s,w", "w,n", "w,s", "w,w"),
    "qa20": ("bedroom", "bored", "garden", "hungry", "kitchen", "thirsty", "tired"),
}


def first_sentence(reply: str) -> str:
    """BABILong's preprocess_output. Its `Question` cut runs after lowercasing, so it never
    fires; kept that way to score as the official code does."""
    out = reply.lower().split(".")[0]
    for marker in ("<context>", "<example>", "Question"):
        out = out.split(marker)[0]
    return out


def compare_answers(target: str, reply: str, question: str, labels: tuple[str, ...] | list[str]) -> bool:
    output = first_sentence(reply)
    target = target.lower()
    label_set = {label.lower() for label in labels}
    in_question = {label for label in label_set if label in question.lower()}
    named = {label for label in label_set if label in output} - in_question
    if "," in target and len(target) > 3:  # qa8's two-object targets, "apple,milk"
        parts = target.split(",")
        return all(p in named for p in parts) and len(named) == len(parts)
    return target in named and len(named) == 1


def metric(prediction: str, expected: list[str], question: str = "", task: str = "qa1") -> float:
    """The `babilong` metric: `expected[0]` is the target, `task` picks the label set."""
    if not expected:
        return 0.0
    labels = TASK_LABELS.get(task)
    if labels is None:
        raise ValueError(f"babilong: unknown bAbI task {task!r}; known: {', '.join(TASK_LABELS)}")
    return 1.0 if compare_answers(expected[0], prediction, question, labels) else 0.0
