"""One team's shell around its engine: kernel facts in, engine decisions applied to the kernel.

The controller holds no decision logic. It turns link messages into observations, keeps the one
timer the engine asks for, and applies what comes out: a switch over netlink (a refusal goes back in
as an observation), then the announcements, then the log line.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import structlog
import trio

from teamd_py.config import ProbeTarget, TeamConfig
from teamd_py.control.api import ControlError
from teamd_py.engine.aft import HEALTHY, AftEngine, TeamPolicy
from teamd_py.engine.events import (
    Activate,
    ActiveReported,
    Damped,
    Decision,
    Health,
    HealthChanged,
    KernelSwitched,
    MemberAbsent,
    MemberPresent,
    Observation,
    PathReported,
    PathStatus,
    Pin,
    PinReleased,
    Reason,
    SwitchRefused,
    TeamState,
    TeamStatus,
)
from teamd_py.engine.path import PathChanged, PathDecision, PathMonitor, SendProbe, TargetChanged
from teamd_py.kernel.bond import BondBackend
from teamd_py.kernel.links import Link
from teamd_py.kernel.netlink import NetlinkError
from teamd_py.wire.announce import Announcer, announcement_frames
from teamd_py.wire.frames import mac_to_bytes, parse_ethernet
from teamd_py.wire.probe_socket import ProbeSocket
from teamd_py.wire.probes import ProbeSpec, probe_for

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
        self.bond_mac: str | None = None
        self.links: dict[str, Link] = {}
        now = trio.current_time()
        self.monitor = PathMonitor.for_team(team, now) if team.probes else None
        self.sockets: dict[str, ProbeSocket] = {}
        self._receivers: dict[str, trio.CancelScope] = {}
        self.outstanding: dict[tuple[str, int, ProbeTarget], ProbeSpec] = {}
        self._unreachable: set[ProbeTarget] = set()
        self._addresses = _probe_sources(team)
        self.stats = SwitchStats()

    # -- reload -----------------------------------------------------------------------------------

    async def reconfigure(self, team: TeamConfig) -> None:
        """Take a changed config for this team, keeping what is known of the members that stay.
        Probe sockets are reopened from the next link dump, which the daemon starts at once."""
        async with self._lock:
            now = trio.current_time()
            for member in list(self.sockets):
                self._close_probes(member)
            old_engine, old_monitor = self.engine, self.monitor
            self.team = team
            self._members = {m.name for m in team.members}
            self._addresses = _probe_sources(team)
            self.outstanding.clear()
            self.engine = AftEngine(TeamPolicy.from_config(team))
            self.engine.carry_from(old_engine)
            self.monitor = PathMonitor.for_team(team, now, old_monitor) if team.probes else None
            gone = set(old_engine.members) - self._members
            for name in gone:
                self.links.pop(name, None)
                index = self.member_index.pop(name, None)
                if index is not None:
                    self.index_to_member.pop(index, None)
            if self.monitor is not None:
                paths = [PathReported(m, self.monitor.path[m]) for m in self._members]
                await self._apply(
                    self.engine.observe(*paths, now=now), Arrival(self.switch_stamp, now)
                )
        self._rearm.set()

    # -- operator requests ------------------------------------------------------------------------

    async def pin(self, member: str | None, force: bool) -> dict[str, Any]:
        """`teamd-py switch`: pin a member (None: automatic again), refused if it is unhealthy."""
        async with self._lock:
            now = trio.current_time()
            if member is not None:
                if member not in self._members:
                    raise ControlError(
                        "unknown_member", f"{member} is not a member of {self.team.name}"
                    )
                if not force and not self.engine.healthy(member, now):
                    raise ControlError(
                        "unhealthy",
                        f"{member} is not healthy ({self._member_state(member)}); "
                        "use --force to switch to it anyway",
                    )
            log.info(
                "override",
                team=self.team.name,
                member=member,
                pinned=member is not None,
                forced=force,
            )
            decisions = self.engine.observe(Pin(member, force), now=now)
            await self._apply(decisions, Arrival(self.switch_stamp, now))
            if member is not None and self.engine.pinned != member:
                raise ControlError("refused", f"the kernel refused to make {member} active")
        self._rearm.set()
        return {"team": self.team.name, "active": self.engine.active, "override": self._override()}

    def _override(self) -> dict[str, Any] | None:
        if self.engine.pinned is None:
            return None
        return {"member": self.engine.pinned, "forced": self.engine.pin_forced}

    def _member_state(self, name: str) -> str:
        m = self.engine.members[name]
        if m.health is Health.ABSENT:
            return "absent"
        if name == self.engine.active:
            return "active"
        if m.health in (*HEALTHY, Health.RISING) and m.path is not PathStatus.DOWN:
            return "standby"
        return "failed"

    def snapshot(self) -> dict[str, Any]:
        """This team's part of `teamd-py state --json` (see control/api.py for the schema)."""
        members = {}
        for member in self.team.members:
            m = self.engine.members[member.name]
            link = self.links.get(member.name)
            targets = []
            if self.monitor is not None:
                now = trio.current_time()
                for (name, _, target), s in self.monitor.targets.items():
                    if name != member.name:
                        continue
                    targets.append(
                        {
                            "ip": str(target.ip),
                            "vlan": target.vlan,
                            "up": s.up,
                            "missed": s.missed,
                            "rtt_ms": None if s.rtt is None else round(s.rtt * 1000, 3),
                            "last_reply_age_ms": None
                            if s.last_reply is None
                            else round((now - s.last_reply) * 1000, 1),
                        }
                    )
            members[member.name] = {
                "state": self._member_state(member.name),
                "role": member.role.value if member.role else None,
                "priority": member.priority,
                "carrier": bool(link and link.carrier),
                "health": m.health.value,
                "path": m.path.value if self.monitor is not None else None,
                "flap_penalty": round(self.engine.penalty(member.name, trio.current_time())),
                "suppressed": m.suppressed,
                "targets": targets,
            }
        return {
            "state": (self.engine.state or TeamState.DOWN).value,
            "mac": self.bond_mac,
            "active": self.engine.active,
            "override": self._override(),
            "switches": self.stats.count,
            "last_switch": self.stats.last,
            "members": members,
        }

    # -- hooks ------------------------------------------------------------------------------------

    def _hook(
        self, event: str, from_member: str | None, to_member: str | None, reason: str
    ) -> None:
        """keepalived's notify convention: the command gets team, event, from, to and reason."""
        hook = self.team.hook
        if hook is None:
            return
        argv = [*hook.command, self.team.name, event, from_member or "", to_member or "", reason]
        self.nursery.start_soon(_run_hook, self.team.name, argv, hook.timeout_ms / 1000)

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
            self.bond_mac = link.mac
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
            self.links.pop(link.name, None)
            if self.monitor is None:
                return [MemberAbsent(link.name)]
            self._close_probes(link.name)
            self.monitor.reset(link.name)
            return [MemberAbsent(link.name), PathReported(link.name, PathStatus.UNKNOWN)]
        self.member_index[link.name] = link.index
        self.index_to_member[link.index] = link.name
        self.links[link.name] = link
        if self.monitor is not None and link.name not in self.sockets:
            self._open_probes(link)
        return [MemberPresent(link.name, link.carrier)]

    # -- path probes ------------------------------------------------------------------------------

    def _open_probes(self, link: Link) -> None:
        own = mac_to_bytes(link.perm_mac) if link.perm_mac else None
        try:
            sock = ProbeSocket(link.name, own_mac=own)
        except OSError as exc:
            log.error("probe_socket_failed", team=self.team.name, member=link.name, error=str(exc))
            return
        self.sockets[link.name] = sock
        scope = trio.CancelScope()
        self._receivers[link.name] = scope
        self.nursery.start_soon(self._receive, link.name, sock, scope)

    def _close_probes(self, member: str) -> None:
        scope = self._receivers.pop(member, None)
        if scope is not None:
            scope.cancel()
        sock = self.sockets.pop(member, None)
        if sock is not None:
            sock.close()

    async def _receive(self, member: str, sock: ProbeSocket, scope: trio.CancelScope) -> None:
        """Replies on one member's socket, matched against that member's probes of this round."""
        assert self.monitor is not None
        with scope:
            while True:
                try:
                    raw = await sock.receive()
                except OSError as exc:
                    log.warning("probe_receive_failed", member=member, error=str(exc))
                    return
                frame = parse_ethernet(raw)
                if frame is None:
                    continue
                now = trio.current_time()
                for key, spec in list(self.outstanding.items()):
                    if key[0] == member and spec.answered_by(frame):
                        async with self._lock:
                            await self._path(self.monitor.reply(*key, now), now)

    def _since_reply(self, member: str, target: ProbeTarget, now: float) -> float | None:
        assert self.monitor is not None
        replies = [
            s.last_reply
            for (m, _, t), s in self.monitor.targets.items()
            if m == member and t == target and s.last_reply is not None
        ]
        return round((now - max(replies)) * 1000, 1) if replies else None

    async def _send_probes(self, probes: list[SendProbe], now: float) -> None:
        assert self.monitor is not None
        logical = mac_to_bytes(self.bond_mac) if self.bond_mac else None
        for probe in probes:
            sock, link = self.sockets.get(probe.member), self.links.get(probe.member)
            if sock is None or link is None or logical is None:
                continue
            own = mac_to_bytes(link.perm_mac) if link.perm_mac else logical
            spec = probe_for(
                probe.target.ip,
                probe.target.vlan,
                probe.member == self.engine.active,
                logical,
                own,
                self._addresses.get(probe.target.vlan, []),
            )
            key = (probe.member, probe.table, probe.target)
            self.outstanding[key] = spec
            leaving = trio.current_time()  # before the send: a reply can be read before it returns
            try:
                await sock.send(spec.frame())
            except OSError as exc:
                log.debug("probe_send_failed", member=probe.member, error=str(exc))
                continue
            self.monitor.sent(*key, leaving)

    async def _path(self, decisions: list[PathDecision], now: float) -> None:
        """Path monitor output: log target changes, hand path verdicts to the engine."""
        assert self.monitor is not None
        observations: list[Observation] = []
        for decision in decisions:
            match decision:
                case TargetChanged(member=member, target=target, up=up, missed=missed, rtt=rtt):
                    log.log(
                        logging.INFO if up else logging.WARNING,
                        "path_up" if up else "path_down",
                        team=self.team.name,
                        member=member,
                        target=str(target.ip),
                        vlan=target.vlan,
                        missed=missed,
                        rtt_ms=None if rtt is None else round(rtt * 1000, 3),
                        since_reply_ms=self._since_reply(member, target, now),
                    )
                case PathChanged(member=member, status=status):
                    observations.append(PathReported(member, status))
        unreachable = set(self.monitor.unreachable())
        for target in unreachable - self._unreachable:
            log.error(
                "target_unreachable",
                team=self.team.name,
                target=str(target.ip),
                vlan=target.vlan,
                action="staying on the current member",
            )
        self._unreachable = unreachable
        if observations:
            decisions_ = self.engine.observe(*observations, now=now)
            await self._apply(decisions_, Arrival(self.switch_stamp, now))

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
        """The one timer the engine and the path monitor ask for, re-armed after every input."""
        while True:
            deadlines = [self.engine.next_deadline()]
            if self.monitor is not None:
                deadlines.append(self.monitor.next_deadline())
            deadline = min((d for d in deadlines if d is not None), default=math.inf)
            with trio.move_on_at(deadline):
                await self._rearm.wait()
            self._rearm = trio.Event()
            async with self._lock:
                now = trio.current_time()
                if self.monitor is not None and now >= (self.monitor.next_deadline() or math.inf):
                    decisions = self.monitor.handle_timer(now)
                    await self._send_probes([d for d in decisions if isinstance(d, SendProbe)], now)
                    await self._path(decisions, now)
                await self._apply(self.engine.handle_timer(now), Arrival(self.switch_stamp, now))

    # -- decisions --------------------------------------------------------------------------------

    async def _apply(self, decisions: list[Decision], arrival: Arrival) -> None:
        for decision in decisions:
            match decision:
                case Activate():
                    await self._switch(decision, arrival)
                case TeamStatus(state=state, active=active):
                    level = {TeamState.UP: log.info, TeamState.DEGRADED: log.warning}
                    level.get(state, log.error)(f"team_{state}", team=self.team.name, active=active)
                    self._hook(f"team_{state}", None, active, "")
                case KernelSwitched(previous=previous, member=member):
                    log.info(
                        "switchover",
                        team=self.team.name,
                        from_member=previous,
                        to_member=member,
                        reason=str(Reason.KERNEL),
                        decision_ms=None,
                    )
                    if member is not None:
                        self.stats.record(Activate(member, previous, Reason.KERNEL), None)
                        self._start_announce()
                        self._hook("switchover", previous, member, str(Reason.KERNEL))
                case Damped(member=member, suppressed=suppressed, penalty=penalty):
                    log.warning(
                        "flap_damping",
                        team=self.team.name,
                        member=member,
                        suppressed=suppressed,
                        penalty=penalty,
                    )
                case PinReleased(member=member, why=why):
                    log.warning(
                        "override", team=self.team.name, member=member, pinned=False, why=why
                    )
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
        self._start_announce()
        self.stats.record(decision, decision_ms)
        if decision.reason is Reason.DRIFT:
            log.warning(
                "drift_repaired",
                team=name,
                changes=[
                    f"active member {decision.previous} (set by hand) back to {decision.member}"
                ],
            )
        self._hook("switchover", decision.previous, decision.member, str(decision.reason))

    def _start_announce(self) -> None:
        """A newer switch cancels the announcements of an older one."""
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


def _probe_sources(team: TeamConfig) -> dict[int | None, list[IPv4Address | IPv6Address]]:
    """The addresses an active member probes from, per VLAN id (None: the untagged device)."""
    out: dict[int | None, list[IPv4Address | IPv6Address]] = {None: [a.ip for a in team.addresses]}
    for vlan in team.vlans:
        out[vlan.id] = [a.ip for a in vlan.addresses]
    return out


async def _run_hook(team: str, argv: list[str], timeout: float) -> None:
    """Off the engine's path: the team never waits for a hook, and a hook never kills the team."""
    try:
        with trio.fail_after(timeout):
            proc = await trio.run_process(
                argv, check=False, capture_stdout=True, capture_stderr=True
            )
    except trio.TooSlowError:
        log.error("hook_failed", team=team, command=argv[0], error=f"timed out after {timeout} s")
        return
    except OSError as exc:
        log.error("hook_failed", team=team, command=argv[0], error=str(exc))
        return
    if proc.returncode != 0:
        log.error(
            "hook_failed",
            team=team,
            command=argv[0],
            exit=proc.returncode,
            stderr=proc.stderr.decode(errors="replace")[-500:],
        )


class SwitchStats:
    """Switch counts, the last switch and recent decision latencies, for state and metrics."""

    LATENCIES = 1000

    def __init__(self) -> None:
        self.count = 0
        self.by_reason: dict[str, int] = {}
        self.last: dict[str, Any] | None = None
        self.latencies_ms: deque[float] = deque(maxlen=self.LATENCIES)

    def record(self, decision: Activate, decision_ms: float | None) -> None:
        """`decision_ms` None: the kernel switched, the daemon decided nothing."""
        self.count += 1
        reason = str(decision.reason)
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if decision_ms is not None:
            self.latencies_ms.append(decision_ms)
        self.last = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "from": decision.previous,
            "to": decision.member,
            "reason": reason,
            "decision_ms": None if decision_ms is None else round(decision_ms, 3),
        }
