"""What the daemon tells systemd (sd_notify): ready, a status line, watchdog pings, stop and reload.

A thin layer over `sdnotify`, which speaks the protocol and drops everything when there is no
NOTIFY_SOCKET, so the daemon behaves the same by hand, in tests and under systemd. Sends never
block: the socket is non-blocking, and a message the manager cannot take is dropped rather than
stalling the event loop that does the failovers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

import sdnotify
import trio

from teamd_py.engine.aft import HEALTHY, AftEngine
from teamd_py.engine.events import PathStatus, TeamState

#: How often the status line is recomputed (seconds); see `keep_status`.
STATUS_INTERVAL = 0.5


class Notifier:
    """One connection to the service manager; it remembers the last STATUS so that an unchanged
    one is not sent again."""

    def __init__(self) -> None:
        # sdnotify is a no-op without NOTIFY_SOCKET too, but it would leave a socket for the
        # garbage collector to close.
        self._sd = sdnotify.SystemdNotifier() if os.environ.get("NOTIFY_SOCKET") else None
        if self._sd is not None and self._sd.socket is not None:
            self._sd.socket.setblocking(False)
        self._status: str | None = None

    def close(self) -> None:
        if self._sd is not None and self._sd.socket is not None:
            self._sd.socket.close()
        self._sd = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, *assignments: str) -> None:
        """One datagram: the manager applies its assignments together (READY=1 with its STATUS)."""
        if self._sd is not None:
            self._sd.notify("\n".join(assignments))

    def ready(self, status: str) -> None:
        """Start-up (or a reload) is complete: units ordered after ours may start."""
        self._status = _one_line(status)
        self._send("READY=1", f"STATUS={self._status}")

    def status(self, status: str) -> bool:
        """Send the status line if it changed; say whether it was sent."""
        status = _one_line(status)
        if status == self._status:
            return False
        self._status = status
        self._send(f"STATUS={status}")
        return True

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def reloading(self) -> None:
        """A reload has begun. The manager matches MONOTONIC_USEC against the time it asked for
        the reload, so a stale RELOADING=1 is not taken for the answer to a newer request."""
        self._send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}")

    def reloaded(self, status: str) -> None:
        """The reload is complete: READY=1 ends it, with the status line that now holds."""
        self.ready(status)


def _one_line(text: str) -> str:
    """A newline would end the STATUS assignment and start a bogus one."""
    return " ".join(text.splitlines())


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, the clock the manager compares MONOTONIC_USEC with."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def watchdog_interval(
    environ: Mapping[str, str] | None = None, pid: int | None = None
) -> float | None:
    """Seconds between WATCHDOG=1 pings, or None when the manager is not watching this process.

    Half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, so one late ping is not yet fatal.
    A WATCHDOG_PID naming another process means the watchdog is meant for that one.
    """
    env = os.environ if environ is None else environ
    try:
        usec = int(env["WATCHDOG_USEC"])
        owner = env.get("WATCHDOG_PID")
        if owner is not None and int(owner) != (os.getpid() if pid is None else pid):
            return None
    except (KeyError, ValueError):
        return None
    return usec / 2_000_000 if usec > 0 else None


async def keep_watchdog(notifier: Notifier, interval: float) -> None:
    """Ping from a task of the daemon's own event loop: a wedged loop stops pinging, and the
    manager restarts the daemon."""
    while True:
        notifier.watchdog()
        await trio.sleep(interval)


async def keep_status(
    notifier: Notifier, summarize: Callable[[], str], interval: float = STATUS_INTERVAL
) -> None:
    """Keep STATUS current by recomputing it every `interval` and sending it only when it changed.

    Polling rather than an event from the controllers: they offer no change hook, and a few short
    strings twice a second cost nothing. STATUS may lag a switch by up to `interval`; the logs
    carry the exact times.
    """
    while True:
        await trio.sleep(interval)
        notifier.status(summarize())


def team_status(name: str, engine: AftEngine) -> str:
    """`team1: active eth0, 2/2 members healthy`; `(degraded)` after the member when traffic
    flows through one that is not proven healthy; `team1: DOWN` when no member can carry it."""
    if engine.active is None or engine.state in (None, TeamState.DOWN):
        return f"{name}: DOWN"
    healthy = sum(m.health in HEALTHY and m.path is PathStatus.UP for m in engine.members.values())
    degraded = " (degraded)" if engine.state is TeamState.DEGRADED else ""
    return (
        f"{name}: active {engine.active}{degraded}, {healthy}/{len(engine.members)} members healthy"
    )


def status_line(teams: Iterable[tuple[str, AftEngine]]) -> str:
    """Every team's status, joined with `; ` (the manager shows one line)."""
    return "; ".join(team_status(name, engine) for name, engine in teams)
