"""The daemon's events for `teamd-py events`: taken from the log stream, so nothing is said twice.

Every event worth following is already a structured log line; a structlog processor keeps the last
ones and hands each to the subscribers. A subscriber that does not keep up loses events rather
than slowing the daemon down.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import trio

FOLLOWED = frozenset(
    {
        "switchover",
        "switch_refused",
        "member_health",
        "path_up",
        "path_down",
        "target_unreachable",
        "team_up",
        "team_degraded",
        "team_down",
        "override",
        "reload",
        "reload_failed",
        "drift_repaired",
        "hook_failed",
        "ready",
        "stopping",
        "flap_damping",
    }
)
KEEP = 200
SUBSCRIBER_BUFFER = 1000


class EventBus:
    def __init__(self) -> None:
        self.recent: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self._subscribers: set[trio.MemorySendChannel[dict[str, Any]]] = set()

    def processor(self, _logger: object, _method: str, event: dict[str, Any]) -> dict[str, Any]:
        """A structlog processor: place it after the timestamp, before the renderer."""
        if event.get("event") in FOLLOWED:
            record = {
                k: v if isinstance(v, str | int | float | bool | None) else str(v)
                for k, v in event.items()
            }
            self.recent.append(record)
            for channel in list(self._subscribers):
                with contextlib.suppress(
                    trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError
                ):
                    channel.send_nowait(record)  # a subscriber that lags loses this one
        return event

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        send, receive = trio.open_memory_channel[dict[str, Any]](SUBSCRIBER_BUFFER)
        self._subscribers.add(send)
        try:
            async with receive:
                async for record in receive:
                    yield record
        finally:
            self._subscribers.discard(send)


BUS = EventBus()
