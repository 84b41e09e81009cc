"""The daemon's side of the control socket: `DaemonApi` over the running teams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from teamd_py.control.api import ControlError
from teamd_py.daemon import metrics
from teamd_py.daemon.events import BUS

if TYPE_CHECKING:
    from teamd_py.daemon.service import Daemon


class DaemonControl:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def state(self, team: str | None = None) -> dict[str, Any]:
        controllers = self.daemon.controllers
        if team is not None:
            controllers = [self.daemon.controller(team)]
        return {"teams": {c.team.name: c.snapshot() for c in controllers}}

    async def switch(self, team: str, member: str | None, force: bool) -> dict[str, Any]:
        return await self.daemon.controller(team).pin(member, force)

    async def reload(self) -> dict[str, Any]:
        return await self.daemon.reload()

    def metrics(self) -> str:
        return metrics.render(self.daemon.controllers)

    def recent_events(self) -> list[dict[str, Any]]:
        return list(BUS.recent)

    def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        return BUS.subscribe()


__all__ = ["ControlError", "DaemonControl"]
