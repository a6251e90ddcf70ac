import pytest

from fairguard.data.sampling import tries_until_full
from fairguard.errors import ConfigError


def test_stops_when_full():
    rows: list[int] = []
    for i in tries_until_full(rows, 3, "unused"):
        if i % 2:  # every other try is a repeat
            rows.append(i)
    assert rows == [1, 3, 5]


def test_raises_with_advice_when_the_pools_run_dry():
    rows: list[int] = []
    with pytest.raises(ConfigError, match="ask for less"):
        for _ in tries_until_full(rows, 2, "ask for less"):
            pass
