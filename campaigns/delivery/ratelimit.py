"""The per-workspace sending rate (SendingSettings.rate_per_minute), shared by every worker.

A counter per workspace and clock minute in the cache (Redis when services run, so all workers
share it). A worker reserves the rows it is about to claim; a window that is full grants nothing
until the next minute begins.
"""

import contextlib
import time
from dataclasses import dataclass

from django.core.cache import cache

#: Counters outlive their minute a little, so a slow clock on another worker still finds them.
_KEY_TTL = 120


@dataclass
class Reservation:
    key: str
    granted: int
    #: Seconds until the next window opens (when `granted` is 0, the time to wait).
    retry_in: float


def rate_reserve(*, workspace_id: int, per_minute: int, wanted: int) -> Reservation:
    """Take up to `wanted` sends of the workspace's current minute."""
    now = time.time()
    window = int(now // 60)
    key = f"email-rate:{workspace_id}:{window}"
    cache.add(key, 0, timeout=_KEY_TTL)
    try:
        used = cache.incr(key, wanted)
    except ValueError:  # the counter expired between add() and incr()
        cache.set(key, wanted, timeout=_KEY_TTL)
        used = wanted
    granted = max(0, min(wanted, per_minute - (used - wanted)))
    if granted < wanted:  # the counter says what was really taken, not what was asked for
        _give_back(key, wanted - granted)
    return Reservation(key=key, granted=granted, retry_in=60 - now % 60)


def rate_release(reservation: Reservation, unused: int) -> None:
    """Give back sends reserved but not made (fewer rows were claimable), for the other workers."""
    if unused > 0:
        _give_back(reservation.key, min(unused, reservation.granted))


def _give_back(key: str, count: int) -> None:
    with contextlib.suppress(ValueError):  # the window's counter expired meanwhile
        cache.decr(key, count)
