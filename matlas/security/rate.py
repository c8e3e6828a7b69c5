"""Per-key rate limits over the ``limits`` library: memory counters by default, Redis when configured.

A rule is ``limits`` notation (``"60/minute"``, ``"10/second;500/hour"``); counters are kept per
group (``search``, ``chat``) and key name in a moving window. A request over a limit
raises ``RateLimited`` with the seconds until the window lets one more through (``Retry-After``).
When the counter store fails (Redis down), requests pass and a warning is logged: a limit must not
turn an outage of its store into an outage of the service.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from matlas.errors import RateLimited

__all__ = ["RateLimits"]

log = logging.getLogger(__name__)


class RateLimits:
    """Rate limits per group and key name.

    >>> limits = RateLimits({"search": "2/minute"})
    >>> limits.hit("search", "ci"); limits.hit("search", "ci")
    >>> limits.hit("search", "ci")
    Traceback (most recent call last):
    ...
    matlas.errors.RateLimited: key 'ci' is over its search limit of 2 per 1 minute; retry in 60 s
    >>> limits.hit("search", "other"); limits.hit("chat", "ci")  # other keys and unlimited groups pass
    """

    def __init__(self, rules: Mapping[str, str | None], storage_uri: str = "memory://") -> None:
        self.rules: dict[str, list[RateLimitItem]] = {group: parse_many(text) for group, text in rules.items() if text}
        self.storage = storage_from_string(storage_uri)
        self.limiter = MovingWindowRateLimiter(self.storage)

    def hit(self, group: str, who: str) -> None:
        """Count one request of key ``who`` in ``group``; ``RateLimited`` when that is one too many."""
        for item in self.rules.get(group, ()):
            try:
                if self.limiter.hit(item, group, who):
                    continue
                reset = self.limiter.get_window_stats(item, group, who).reset_time
            except self.storage.base_exceptions as err:
                log.warning("rate limits not enforced: their store failed (%s)", type(err).__name__)
                return
            retry = max(1, math.ceil(reset - time.time()))
            raise RateLimited(f"key {who!r} is over its {group} limit of {item.amount} per "
                              f"{item.multiples} {item.GRANULARITY.name}; retry in {retry} s", retry)
