"""Scoring functions on hand-made predictions."""
import pytest

from evals.scoring import (exact_match, f1, f1_items, f1_pairs, first_number, numeric_partial, score,
                           string_match_all, string_match_part)


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


def test_numeric_partial_is_oolong_credit():
    assert numeric_partial("There are 12 such documents.", ["12"]) == 1.0
    assert numeric_partial("Answer: 10", ["12"]) == pytest.approx(0.75 ** 2)
    assert numeric_partial("15 items", ["12"]) == pytest.approx(0.75 ** 3)
    assert numeric_partial("1,204", ["1204"]) == 1.0
    assert numeric_partial("no idea", ["12"]) == 0.0
    assert numeric_partial("7 then 12", ["12"]) == pytest.approx(0.75 ** 5)  # first number counts
    assert first_number("x -3.5 y") == -3.5


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
