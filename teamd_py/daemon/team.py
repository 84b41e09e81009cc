"""One team's shell around its engine: kernel facts in, engine decisions applied to the kernel.

The controller holds no decision logic. It turns link messages into observations, keeps the one
timer the engine asks for, and applies what comes out: a switch over netlink (a refusal goes back in
as an observation), then the announcements, then the log line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import structlog
import trio

from teamd_py.config import TeamConfig
from teamd_py.engine.aft import AftEngine, TeamPolicy
from teamd_py.engine.events import (
    Activate,
    ActiveReported,
    Decision,
    HealthChanged,
    MemberAbsent,
    MemberPresent,
    Observation,
    SwitchRefused,
    TeamStatus,
)
from teamd_py.kernel.bond import BondBackend
from teamd_py.kernel.links import Link
from teamd_py.kernel.netlink import NetlinkError
from teamd_py.wire.announce import Announcer, announcement_frames

log = structlog.get_logger()


@dataclass
class Arrival:
    """Where an input came from: its stamp in the netlink stream and when it was read."""

    stamp: int
    time: float


class TeamController:
    def __init__(
        self,
        team: TeamConfig,
        backend: BondBackend,
        announcer: Announcer,
        nursery: trio.Nursery,
    ) -> None:
        self.team = team
        self.backend = backend
        self.announcer = announcer
        self.nursery = nursery
        self.engine = AftEngine(TeamPolicy.from_config(team))
        self.bond_index: int | None = None
        self.index_to_member: dict[int, str] = {}
        self.member_index: dict[str, int] = {}
        self.switch_stamp = 0  # the ACK stamp of our latest switch
        self._lock = trio.Lock()
        self._rearm = trio.Event()
        self._burst = trio.CancelScope()
        self._members = {m.name for m in team.members}

    @property
    def devices(self) -> set[str]:
        return {self.team.name, *self._members}

    # -- inputs -----------------------------------------------------------------------------------

    def observations(self, link: Link, deleted: bool) -> list[Observation]:
        """What a link message means for this team (nothing, if it is not ours)."""
        if link.name == self.team.name:
            if deleted:
                self.bond_index = None
                return []
            self.bond_index = link.index
            return []
        if link.name not in self._members:
            stale = self.index_to_member.pop(link.index, None)  # renamed away from a member name
            if stale is not None:
                self.member_index.pop(stale, None)
                return [MemberAbsent(stale)]
            return []
        if deleted or link.master is None or link.master != self.bond_index:
            self.member_index.pop(link.name, None)
            self.index_to_member.pop(link.index, None)
            return [MemberAbsent(link.name)]
        self.member_index[link.name] = link.index
        self.index_to_member[link.index] = link.name
        return [MemberPresent(link.name, link.carrier)]

    def active_report(self, link: Link, arrival: Arrival) -> list[Observation]:
        """The bond's active slave, unless the message predates our own latest switch."""
        if link.name != self.team.name or arrival.stamp < self.switch_stamp:
            return []
        active = self.index_to_member.get(link.bond_active) if link.bond_active else None
        if active == self.engine.active:
            return []
        return [ActiveReported(active)]

    async def on_links(self, links: list[tuple[Link, bool]], arrival: Arrival) -> None:
        """Links of this team (the bond first) as one batch: the engine chooses once for all."""
        async with self._lock:
            observations: list[Observation] = []
            for link, deleted in links:
                observations += self.observations(link, deleted)
            for link, deleted in links:
                if not deleted:
                    observations += self.active_report(link, arrival)
            if observations:
                decisions = self.engine.observe(*observations, now=trio.current_time())
                await self._apply(decisions, arrival)
        self._rearm.set()

    async def run_timer(self) -> None:
        """The one timer the engine asks for, re-armed after every input."""
        while True:
            deadline = self.engine.next_deadline()
            with trio.move_on_at(deadline if deadline is not None else math.inf):
                await self._rearm.wait()
            self._rearm = trio.Event()
            async with self._lock:
                now = trio.current_time()
                await self._apply(self.engine.handle_timer(now), Arrival(self.switch_stamp, now))

    # -- decisions --------------------------------------------------------------------------------

    async def _apply(self, decisions: list[Decision], arrival: Arrival) -> None:
        for decision in decisions:
            match decision:
                case Activate():
                    await self._switch(decision, arrival)
                case TeamStatus(up=up, active=active):
                    if up:
                        log.info("team_up", team=self.team.name, active=active)
                    else:
                        log.error("team_down", team=self.team.name, active=active)
                case HealthChanged(member=member, old=old, new=new):
                    log.info(
                        "member_health",
                        team=self.team.name,
                        member=member,
                        old=old.value,
                        new=new.value,
                    )

    async def _switch(self, decision: Activate, arrival: Arrival) -> None:
        name = self.team.name
        index = self.member_index.get(decision.member)
        if self.bond_index is None or index is None:
            await self._refused(decision, "not enslaved", arrival)
            return
        try:
            self.switch_stamp = await self.backend.switch(
                self.bond_index, index, f"make {decision.member} active on {name}"
            )
        except NetlinkError as exc:
            await self._refused(decision, str(exc), arrival)
            return
        decision_ms = (trio.current_time() - arrival.time) * 1000
        log.info(
            "switchover",
            team=name,
            from_member=decision.previous,
            to_member=decision.member,
            reason=str(decision.reason),
            decision_ms=round(decision_ms, 3),
        )
        self._burst.cancel()
        self._burst = trio.CancelScope()
        self.nursery.start_soon(self._announce, self._burst)

    async def _refused(self, decision: Activate, error: str, arrival: Arrival) -> None:
        log.warning("switch_refused", team=self.team.name, member=decision.member, error=error)
        active = None
        links = await self.backend.links()
        bond = links.get(self.team.name)
        if bond is not None and bond.bond_active:
            active = self.index_to_member.get(bond.bond_active)
        obs = SwitchRefused(decision.member, active, error)
        await self._apply(self.engine.observe(obs, now=trio.current_time()), arrival)

    async def _announce(self, scope: trio.CancelScope) -> None:
        with scope:
            links = await self.backend.links()
            bond = links.get(self.team.name)
            if bond is None or bond.mac is None:
                return
            addresses = await self.backend.addresses()
            per_device: dict[str, list[bytes]] = defaultdict(list)
            for device in [self.team.name, *(v.name for v in self.team.vlans)]:
                link = links.get(device)
                if link is not None:
                    frames = announcement_frames(bond.mac, addresses.get(link.index, set()))
                    if frames:
                        per_device[device] = frames
            notify = self.team.notify
            await self.announcer.burst(
                self.team.name, per_device, notify.count, notify.interval_ms / 1000
            )
