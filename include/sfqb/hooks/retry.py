"""Retries with capped, jittered exponential backoff, honouring Retry-After.

Only ``ThrottledError`` and ``TransientError`` are retried; everything else surfaces at once.
The sleep function is injectable so unit tests run instantly and can assert the schedule.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import RETRYABLE, ThrottledError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 1.0  # seconds before the 2nd attempt; doubles each time
    max_delay: float = 60.0  # QBO's throttle window is a minute: never wait longer than that
    jitter: float = 0.25  # +/- fraction, so parallel tasks do not retry in lockstep

    def delay(self, attempt: int, retry_after: float | None = None, rng=random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        raw = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        return max(0.0, raw * (1 + rng.uniform(-self.jitter, self.jitter)))


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> T:
    """Call ``fn`` until it succeeds, a non-retryable error is raised, or attempts run out."""
    attempt = 1
    while True:
        try:
            return fn()
        except RETRYABLE as exc:
            if attempt >= policy.max_attempts:
                log.error("%s failed after %d attempts: %s", what, attempt, exc)
                raise
            retry_after = exc.retry_after if isinstance(exc, ThrottledError) else None
            wait = policy.delay(attempt, retry_after)
            log.warning(
                "%s: %s (attempt %d of %d); retrying in %.1f s",
                what,
                exc,
                attempt,
                policy.max_attempts,
                wait,
            )
            if on_retry is not None:
                on_retry(attempt, exc)
            sleep(wait)
            attempt += 1
