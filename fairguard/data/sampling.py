"""Drawing a fixed number of distinct rows from a generator that sometimes repeats itself."""

from __future__ import annotations

from collections.abc import Iterator, Sized

from fairguard.errors import ConfigError

MAX_TRIES_PER_ROW = 50
EXTRA_TRIES = 1000


def tries_until_full(rows: Sized, n: int, advice: str) -> Iterator[int]:
    """Yield try numbers while ``rows`` holds fewer than ``n`` items; raise a ``ConfigError``
    that ends with ``advice`` when ``MAX_TRIES_PER_ROW * n + EXTRA_TRIES`` tries did not
    fill it (the pools are too small for the request)."""
    limit = MAX_TRIES_PER_ROW * n + EXTRA_TRIES
    tries = 0
    while len(rows) < n:
        tries += 1
        if tries > limit:
            raise ConfigError(f"could not draw {n} distinct rows in {limit} tries; {advice}")
        yield tries
