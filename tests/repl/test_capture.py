"""Head + tail truncation of captured output (pure functions, no worker)."""
from __future__ import annotations

from rlm.repl._capture import BoundedTextIO, truncate_middle


def test_truncate_middle_keeps_head_and_tail() -> None:
    assert truncate_middle("short", 10) == "short"
    out = truncate_middle("a" * 10 + "b" * 10 + "c" * 10, 20)
    assert out.startswith("a" * 10) and out.endswith("c" * 10)
    assert "[... 10 chars truncated ...]" in out


def test_bounded_stream_counts_everything_and_keeps_the_ends() -> None:
    stream = BoundedTextIO(100)
    for i in range(100_000):
        stream.write(f"{i}\n")
    value = stream.getvalue()
    assert stream.total == sum(len(f"{i}\n") for i in range(100_000))
    assert value.startswith("0\n1\n") and value.endswith("99998\n99999\n")
    assert "chars truncated" in value and len(value) < 150


def test_bounded_stream_under_the_limit_is_exact() -> None:
    stream = BoundedTextIO(100)
    stream.write("abc")
    stream.write("def")
    assert stream.getvalue() == "abcdef" and stream.total == 6
