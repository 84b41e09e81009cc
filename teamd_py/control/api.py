"""What the control socket asks of the daemon: the seam between the protocol and the teams.

The server knows nothing of teams and the daemon nothing of sockets; both meet here, which is also
what lets the protocol be tested against a fake daemon.

State, as returned by `state()` (and printed by `teamd-py state --json`):

    {"teams": {"team1": {
        "state": "up" | "degraded" | "down",
        "mac": "02:00:5e:00:00:01" | null,
        "active": "eth0" | null,
        "override": null | {"member": "eth1", "forced": false},
        "switches": 3,
        "last_switch": null | {"time": "2026-12-01T12:00:00Z", "from": "eth0", "to": "eth1",
                               "reason": "active_down", "decision_ms": 4.8},
        "members": {"eth0": {
            "state": "active" | "standby" | "failed" | "absent",
            "role": "primary" | "secondary" | "standby" | null, "priority": 200,
            "carrier": true, "health": "up" | "rising" | "falling" | "down" | "absent",
            "path": "up" | "unknown" | "down" | null,          # null: no probing configured
            "targets": [{"ip": "192.168.1.254", "vlan": 10, "up": true | false | null,
                         "missed": 0, "rtt_ms": 0.4, "last_reply_age_ms": 12.0}]}}}}}

Events (from `events()`) are the daemon's log records of interest, as dicts with at least
"event" and "timestamp": switchover, member_health, path_up, path_down, team_up, team_degraded,
team_down, reload, override.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol


class ControlError(Exception):
    """A request that cannot be served; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DaemonApi(Protocol):
    def state(self, team: str | None = None) -> dict[str, Any]:
        """The state above; ControlError("unknown_team") for a team that does not exist."""
        ...

    async def switch(self, team: str, member: str | None, force: bool) -> dict[str, Any]:
        """Pin `member` as active (None: back to automatic choice).

        ControlError codes: unknown_team, unknown_member, unhealthy (member not healthy and not
        `force`), refused (the kernel refused). Returns {"team", "active", "override"}.
        """
        ...

    async def reload(self) -> dict[str, Any]:
        """Re-read the config file; ControlError("invalid_config") with every problem listed
        in the message (one per line) when it does not validate. Returns {"changed": [...]}."""
        ...

    def metrics(self) -> str:
        """Prometheus text exposition format."""
        ...

    def recent_events(self) -> list[dict[str, Any]]:
        """The last events, oldest first (a bounded buffer)."""
        ...

    def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Events from now on; the iterator ends when the daemon stops."""
        ...
