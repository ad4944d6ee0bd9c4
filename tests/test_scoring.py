"""Scoring functions on hand-made predictions."""
import pytest

from evals.scoring import (exact_match, f1, f1_items, f1_pairs, numeric_partial, score, string_match_all,
                           string_match_part)
from evals.scoring import babilong, longbench, oolong, ruler


def test_string_match_all_is_ruler_recall():
    refs = ["1234567", "Fluffy-Cat", "abc"]
    assert string_match_all("the numbers are 1234567 and fluffy-cat", refs) == pytest.approx(2 / 3)
    assert string_match_all("ABC 1234567 FLUFFY-CAT", refs) == 1.0
    assert string_match_all("nothing", refs) == 0.0
    assert string_match_all("12345678", ["1234567"]) == 1.0  # substring, as RULER
    assert string_match_all("anything", []) == 0.0


def test_string_match_part_is_any_reference():
    assert string_match_part("It is in PARIS.", ["paris", "France"]) == 1.0
    assert string_match_part("Lyon", ["paris", "france"]) == 0.0
    assert string_match_part("x", []) == 0.0


def test_exact_match_normalises_case_space_quotes():
    assert exact_match("  Paris. ", ["paris"]) == 1.0
    assert exact_match('"New   York"', ["new york"]) == 1.0
    assert exact_match("Paris, France", ["paris"]) == 0.0


def test_numeric_partial_parses_like_oolong():
    assert numeric_partial("12", ["12"]) == 1.0
    assert numeric_partial("Answer: 10", ["12"]) == pytest.approx(0.75 ** 2)
    assert numeric_partial("**Answer: [15]**", ["12"]) == pytest.approx(0.75 ** 3)
    assert numeric_partial("There are 12 such documents.", ["12"]) == 0.0  # last word "documents." is no int
    assert numeric_partial("7 then 12", ["12"]) == 0.0                     # short: the whole reply, no int
    assert numeric_partial("no idea", ["12"]) == 0.0


def test_f1_items():
    assert f1_items("apple, pear\nplum", ["Apple", "pear", "plum"]) == 1.0
    assert f1_items("1. apple\n2. kiwi", ["apple", "pear"]) == pytest.approx(0.5)
    assert f1_items("", ["apple"]) == 0.0


def test_f1_pairs_unordered_any_separator():
    refs = ["Ada Lovelace & Alan Turing", "Grace Hopper & Edsger Dijkstra"]
    assert f1_pairs("Alan Turing & Ada Lovelace\nEdsger Dijkstra and Grace Hopper", refs) == 1.0
    assert f1_pairs("(ada lovelace, alan turing), (grace hopper, john doe)", refs) == pytest.approx(0.5)
    assert f1_pairs("- Ada Lovelace | Alan Turing", refs) == pytest.approx(2 / 3)
    assert f1_pairs("none", refs) == 0.0
    assert f1("Alan Turing & Ada Lovelace", refs) == pytest.approx(2 / 3)
    assert f1("apple", ["apple"]) == 1.0


def test_score_dispatch():
    assert score("string_match_all", "1234567", ["1234567"]) == 1.0
    assert score("numeric_partial", None, ["3"]) == 0.0
    assert score("exact", "a", ["A"]) == 1.0
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        score("bleu", "a", ["a"])


# OOLONG (src/eval/eval_helpers.py), rule by rule.
@pytest.mark.parametrize("reply,parsed", [
    ("spam", "spam"),                                          # no colon, under 20 characters: the whole reply
    ("I think it is probably spam", "spam"),                   # no colon, long: the last word
    ("Label: **spam**", "spam"),                               # after the last colon, * removed
    ("Answer: [12]", "12"),                                    # [ ] removed
    ("Note: x. Label: ham", "ham"),                            # the last colon wins
    ("Answer: the first label is more common than the other", "more common"),
    ("Answer: 5\n", "5"),
])
def test_oolong_answer_parsing(reply, parsed):
    assert oolong.parse_answer(reply) == parsed


def test_oolong_gold_and_rules():
    assert oolong.parse_gold("[12]") == 12 and oolong.parse_gold("['human being']") == "human being"
    assert oolong.score("Label: human being", "['human being']") == 1.0
    assert oolong.score("Label: Human being", "['human being']") == 0.0         # exact, case kept
    assert oolong.score("Answer: 12", "[12]", oolong.NUMERIC) == 1.0
    assert oolong.score("Answer: 14", "[12]", oolong.NUMERIC) == pytest.approx(0.5625)
    assert oolong.score("Answer: 14", "[12]", "ANSWER_TYPE.LABEL") == 0.0         # partial credit is numeric only
    assert oolong.score("Answer: twelve", "[12]", oolong.NUMERIC) == 0.0
    assert oolong.score("Answer: spam is more common than ham overall", "['more common than']",
                        "ANSWER_TYPE.COMPARISON") == 1.0
    assert oolong.score("Answer: 2024-05-01", "[datetime.date(2024, 5, 1)]", oolong.DATE) == 1.0
    assert oolong.score("Answer: May 2, 2024", "[datetime.date(2024, 5, 1)]", oolong.DATE) == 0.0
    assert score("oolong", "Label: spam", ["['spam']"], answer_type="ANSWER_TYPE.LABEL") == 1.0


# LongBench-v2 (pred.py extract_answer).
@pytest.mark.parametrize("reply,letter", [
    ("The correct answer is (B)", "B"), ("**The correct answer is (C)**", "C"), ("The correct answer is D.", "D"),
    ("I think (A).", None), ("the correct answer is (A)", None), ("The correct answer is (E)", None),
    ("The correct answer is (A) or (B)", "A"),
])
def test_longbench_extraction(reply, letter):
    assert longbench.extract_answer(reply) == letter
    assert score("longbench_v2", reply, ["B"]) == (1.0 if letter == "B" else 0.0)


# BABILong (metrics.py compare_answers).
def test_babilong_compare_answers():
    labels = babilong.TASK_LABELS["qa1"]
    assert babilong.compare_answers("bathroom", "The most recent location of Mary is bathroom.", "Where is Mary?",
                                    labels)
    assert not babilong.compare_answers("bathroom", "Mary is in the bathroom or the hallway.", "Where is Mary?",
                                        labels)
    assert babilong.compare_answers("bathroom", "bathroom. Before: hallway.", "Where is Mary?", labels)
    # Labels named in the question never count (qa3: "Where was the apple before the kitchen?").
    assert babilong.compare_answers("office", "Before the kitchen the apple was in the office.",
                                    "Where was the apple before the kitchen?", labels)
    # qa8's two-object targets need both objects and nothing else.
    qa8 = babilong.TASK_LABELS["qa8"]
    assert babilong.compare_answers("apple,milk", "apple, milk", "What is Daniel carrying?", qa8)
    assert not babilong.compare_answers("apple,milk", "apple", "What is Daniel carrying?", qa8)
    assert score("babilong", "bathroom", ["bathroom"], question="Where is Mary?", task="qa1") == 1.0
    with pytest.raises(ValueError, match="unknown bAbI task 'qa99'"):
        score("babilong", "x", ["y"], question="q", task="qa99")


def test_ruler_postprocess_and_matching():
    assert ruler.postprocess("  a\x00b\tc  ") == "a\nb\nc"
    assert string_match_all("ABC\x01DEF", ["abc", "def"]) == 1.0
    assert string_match_part("\tFrance\n", ["france", "paris"]) == 1.0
