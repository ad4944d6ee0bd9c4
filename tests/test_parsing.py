"""FINAL / FINAL_VAR and ```repl parsing, on hand-written replies."""
from rlm.parsing import FinalAnswer, code_blocks, find_final, truncate_middle


def test_code_blocks_in_order_and_only_code_languages():
    text = "look\n```repl\nx = 1\n```\nthen\n```python\nprint(x)\n```\n```text\nnot code\n```"
    assert code_blocks(text) == ["x = 1", "print(x)"]


def test_final_with_nested_parentheses_and_multiple_lines():
    text = "Done.\nFINAL(the answer is f(g(2)) and\n(more) text)\n"
    assert find_final(text) == FinalAnswer("text", "the answer is f(g(2)) and\n(more) text")


def test_final_var_strips_quotes():
    assert find_final("ok\nFINAL_VAR('answer')") == FinalAnswer("var", "answer")
    assert find_final("FINAL_VAR(result)") == FinalAnswer("var", "result")


def test_final_inside_a_code_fence_is_not_an_answer():
    text = "```repl\nprint('x')\nFINAL(42)\n```\nstill working"
    assert find_final(text) is None
    assert code_blocks(text) == ["print('x')\nFINAL(42)"]


def test_final_must_start_its_line():
    assert find_final("I will call FINAL(3) later") is None
    assert find_final("I will answer now.\n  FINAL(3)") == FinalAnswer("text", "3")


def test_unbalanced_final_takes_the_rest():
    assert find_final("FINAL(1234567") == FinalAnswer("text", "1234567")


def test_last_final_wins_and_the_models_quotes_are_kept():
    assert find_final('FINAL("a")\nFINAL("b")') == FinalAnswer("text", '"b"')
    assert find_final("FINAL('Blue')") == FinalAnswer("text", "'Blue'")
    assert find_final('FINAL_VAR("answer")') == FinalAnswer("var", "answer")  # a name, however quoted


def test_truncate_middle_keeps_head_and_tail_within_limit():
    text = "A" * 500 + "B" * 500
    out = truncate_middle(text, 200)
    assert len(out) <= 200
    assert out.startswith("A") and out.endswith("B")
    assert "characters truncated" in out
    assert truncate_middle("short", 200) == "short"
