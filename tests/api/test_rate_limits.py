"""Request rates per member and per address: sliding-window counters, constant cost per request."""

from __future__ import annotations

import gc

import pytest

from tierslieu.api.load import RateLimits
from tierslieu.errors import TooManyRequests


def test_a_member_past_the_rate_waits_and_the_others_do_not() -> None:
    limits = RateLimits("5/minute", "100/minute")
    for _ in range(5):
        limits.check_member(1)
    with pytest.raises(TooManyRequests) as refused:
        limits.check_member(1)
    assert refused.value.code == "rate_limited" and 1 <= refused.value.retry_after <= 120
    limits.check_member(2)  # someone else is counted apart
    assert limits.address_retry_after("192.0.2.1") is None


def test_counting_keeps_nothing_per_request() -> None:
    """A moving window kept one object per request for a minute (1,200 per address at its
    limit, all walked by the collector): counters do not grow with the traffic."""
    limits = RateLimits("1000000/minute", "1000000/minute")
    limits.address_retry_after("192.0.2.1")
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(20_000):
        assert limits.address_retry_after("192.0.2.1") is None
    gc.collect()
    assert len(gc.get_objects()) - before < 100
