import pytest

from evals.tasks import SIZES, TaskError, format_size, parse_size


def test_parse_and_format_round_trip():
    assert parse_size("1K") == 1024 and parse_size("128k") == 131072
    assert parse_size("1M") == 1048576 and parse_size("10M") == 10 * 1048576
    assert parse_size(4096) == 4096 and parse_size("5000") == 5000
    assert [format_size(parse_size(s)) for s in SIZES] == list(SIZES)
    assert format_size(1000) == "1000"


@pytest.mark.parametrize("bad", ["", "1G", "K", "-4K", "0", 0, -5, "1.5M", True, None])
def test_bad_sizes(bad):
    with pytest.raises(TaskError):
        parse_size(bad)
