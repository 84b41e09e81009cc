"""The daemon: reconcile every team with the kernel, then follow link events until stopped.

Start-up is careful about order. The notification socket is open before the first dump, so no event
falls between reading the kernel and following it. Every team is planned before any is applied, so a
conflict in one leaves the kernel untouched for all; a failure while applying undoes what was
done.
"""

from __future__ import annotations

import math
import signal
from functools import partial
from typing import Any

import structlog
import trio
from pyroute2.netlink.rtnl import (
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
)

from teamd_py.config import Config, ConfigError, TeamConfig, load_config
from teamd_py.control.api import ControlError
from teamd_py.daemon import metrics
from teamd_py.daemon.team import Arrival, TeamController
from teamd_py.kernel.bond import BondBackend, link_msg
from teamd_py.kernel.links import Link, parse_link
from teamd_py.kernel.netlink import (
    Drained,
    DumpDone,
    DumpSocket,
    NetlinkError,
    NetlinkSocket,
    Notification,
    Overflow,
)
from teamd_py.kernel.plan import Step, TeamConflict, after_removals, plan_removals, plan_team
from teamd_py.wire.announce import Announcer

log = structlog.get_logger()

DRIFT_SETTLE = 0.2
DUMP_TIMEOUT = 10.0


def _preferred(team_members: list[tuple[str, int]], links: dict[str, Link]) -> list[str]:
    """Members in the order to enslave: the best one with carrier first, so the kernel's own
    first pick is already the right one and no switch follows start-up."""
    order = {name: i for i, (name, _) in enumerate(team_members)}
    return sorted(
        order,
        key=lambda n: (
            not (links.get(n) is not None and links[n].carrier),
            -dict(team_members)[n],
            order[n],
        ),
    )


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.controllers: list[TeamController] = []
        self.nl: NetlinkSocket | None = None
        self.backend: BondBackend | None = None
        self.nursery: trio.Nursery | None = None
        self.announcer: Announcer | None = None
        self._dumping: int | None = None
        self._dump_again = False
        self._dump_deadline = math.inf
        self._reload_lock = trio.Lock()
        self.names: dict[int, str] = {}  # ifindex -> name, to place address events
        self.ready = False
        self._drift_pending: set[str] = set()
        self._drift_wake = trio.Event()

    async def reconcile(self, backend: BondBackend) -> None:
        links = await backend.links()
        addresses = await backend.addresses()
        plans = []
        conflicts: list[TeamConflict] = []
        for team in self.config.teams:
            members = [(m.name, m.priority) for m in team.members]
            try:
                plans.append(plan_team(team, links, addresses, _preferred(members, links)))
            except TeamConflict as exc:
                conflicts.append(exc)
        if conflicts:
            raise TeamConflict(
                ", ".join(c.team for c in conflicts), [p for c in conflicts for p in c.problems]
            )
        for team, steps in zip(self.config.teams, plans, strict=True):
            if steps:
                await backend.apply(steps)
                log.info("team_configured", team=team.name, changes=len(steps))
            else:
                log.info("team_adopted", team=team.name, changes=0)

    async def reload(self) -> dict[str, Any]:
        """Validate first; then change only what differs, all teams planned before any change.

        A team whose config did not change is not touched at all. Changes to `[daemon]` need a
        restart and are reported, not applied.
        """
        assert self.backend is not None and self.nl is not None and self.nursery is not None
        try:
            new = load_config(self.config.source)
        except ConfigError as exc:
            log.error("reload_failed", problems=exc.lines())
            raise ControlError("invalid_config", "\n".join(exc.lines())) from None
        async with self._reload_lock:
            old = {t.name: t for t in self.config.teams}
            links = await self.backend.links()
            addresses = await self.backend.addresses()
            work: list[tuple[TeamConfig, TeamConfig | None, list[Step]]] = []
            conflicts: list[TeamConflict] = []
            for team in new.teams:
                before = old.get(team.name)
                if before == team:
                    continue
                removals = plan_removals(before, team, links, addresses) if before else []
                after_links, after_addresses = after_removals(removals, links, addresses)
                members = [(m.name, m.priority) for m in team.members]
                try:
                    additions = plan_team(
                        team, after_links, after_addresses, _preferred(members, after_links)
                    )
                except TeamConflict as exc:
                    conflicts.append(exc)
                    continue
                work.append((team, before, removals + additions))
            if conflicts:
                problems = [f"{c.team}: {p}" for c in conflicts for p in c.problems]
                log.error("reload_failed", problems=problems)
                raise ControlError("invalid_config", "\n".join(problems))
            changed = []
            for team, before, steps in work:
                await self.backend.apply(steps)
                changed.append(team.name)
                if before is None:
                    controller = TeamController(team, self.backend, self.announcer, self.nursery)
                    self.controllers.append(controller)
                    self.nursery.start_soon(controller.run_timer)
                else:
                    await self.controller(team.name).reconfigure(team)
            dropped = sorted(old.keys() - {t.name for t in new.teams})
            self.controllers = [c for c in self.controllers if c.team.name not in dropped]
            restart = new.daemon != self.config.daemon
            self.config = new
            await self.redump()
            result = {"changed": changed, "unmanaged": dropped, "restart_needed": restart}
            log.info("reload", **result)
            return result

    def controller(self, team: str) -> TeamController:
        for controller in self.controllers:
            if controller.team.name == team:
                return controller
        raise ControlError("unknown_team", f"no team {team!r}")

    async def feed(self, links: list[tuple[Link, bool]], arrival: Arrival) -> None:
        for controller in self.controllers:
            mine = [
                (link, d)
                for link, d in links
                if link.name in controller.devices or link.index in controller.index_to_member
            ]
            if mine:
                mine.sort(key=lambda item: item[0].name != controller.team.name)
                await controller.on_links(mine, arrival)

    def drift(self, device: str | None) -> None:
        """Something changed one of our devices, or its addresses: check that team soon."""
        if not self.ready:
            return
        for controller in self.controllers:
            team = controller.team
            if device in {
                team.name,
                *(v.name for v in team.vlans),
                *(m.name for m in team.members),
            }:
                self._drift_pending.add(team.name)
                self._drift_wake.set()

    async def repair_drift(self) -> None:
        """Re-plan a team whose devices changed under us and apply the plan: the same planning as
        at start-up, so a deleted VLAN, a removed address, a released member, a bond set down or a
        NIC that came back are all put right. Our own changes come back as events too; for them
        the plan is empty and nothing happens."""
        assert self.backend is not None
        while True:
            await self._drift_wake.wait()
            await trio.sleep(DRIFT_SETTLE)  # let a burst of events settle into one plan
            self._drift_wake = trio.Event()
            pending, self._drift_pending = self._drift_pending, set()
            async with self._reload_lock:
                links = await self.backend.links()
                addresses = await self.backend.addresses()
                for team in self.config.teams:
                    if team.name not in pending:
                        continue
                    members = [(m.name, m.priority) for m in team.members]
                    try:
                        steps = plan_team(team, links, addresses, _preferred(members, links))
                    except TeamConflict as exc:
                        log.error("drift_unrepairable", team=team.name, problems=exc.problems)
                        continue
                    if not steps:
                        continue
                    try:
                        await self.backend.apply(steps)
                    except NetlinkError as exc:
                        log.error("drift_unrepairable", team=team.name, error=str(exc))
                        continue
                    log.warning(
                        "drift_repaired", team=team.name, changes=[_describe(s) for s in steps]
                    )

    async def redump(self) -> None:
        """Re-read every link through the event stream (after an overflow, or a reload).

        Never two at once: the kernel refuses a second dump on a socket with EBUSY, and on a full
        socket even that refusal can be lost. A dump asked for while one runs follows it.
        """
        assert self.nl is not None
        if self._dumping is not None:
            self._dump_again = True
            return
        self._dump_again = False
        self._dump_deadline = trio.current_time() + DUMP_TIMEOUT
        self._dumping = await self.nl.start_dump(link_msg(), RTM_GETLINK)

    async def follow(
        self, nl: NetlinkSocket, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Feed link states to the teams in the kernel's order, re-reading after an overflow.

        A dump's replies are collected with the notifications that arrive meanwhile and fed as one
        batch when it completes, so every team chooses once, from a complete picture. What came
        before the start-up dump describes our own reconcile steps and is dropped: the dump that
        follows it in the stream is newer.
        """
        await self.redump()
        started = False
        stale = False  # events were lost since the queue was last drained
        batch: list[tuple[Link, bool]] = []
        seen: set[str] = set()
        while True:
            item = None
            with trio.move_on_at(self._dump_deadline if self._dumping is not None else math.inf):
                item = await nl.incoming.receive()
            if item is None:  # the dump's end never came (a reply lost to an overflow)
                log.warning("netlink_dump_lost", action="re-reading links")
                self._dumping, batch, seen = None, [], set()
                await self.redump()
                continue
            dumping = self._dumping
            match item:
                case Overflow():
                    log.warning("netlink_overflow", action="re-reading links")
                    await self.redump()  # now, to recover fast; and again once drained
                    stale = True
                case Drained() if stale:
                    stale = False
                    await self.redump()
                case DumpDone(dump=seq, stamp=stamp) if seq == dumping:
                    gone = {n for c in self.controllers for n in c.devices} - seen
                    batch += [(_gone(name), True) for name in sorted(gone)]
                    await self.feed(batch, Arrival(stamp, trio.current_time()))
                    self._dumping, batch, seen = None, [], set()
                    if not started:
                        started = True
                        task_status.started()
                    if self._dump_again:  # events were lost while that dump ran
                        await self.redump()
                case Notification(msg=msg, dump=seq, stamp=stamp):
                    kind = msg["header"]["type"]
                    if not started and seq is None and not batch:
                        continue
                    if kind in (RTM_NEWADDR, RTM_DELADDR):
                        self.drift(self.names.get(msg["index"]))
                        continue
                    if kind not in (RTM_NEWLINK, RTM_DELLINK):
                        continue
                    link = parse_link(msg)
                    entry = (link, kind == RTM_DELLINK)
                    if kind == RTM_DELLINK:
                        self.names.pop(link.index, None)
                    else:
                        self.names[link.index] = link.name
                    if seq is None:
                        self.drift(link.name)
                    if dumping is not None:
                        # kept in order for the batch; a live event of a running daemon is
                        # also taken at once, so a failure during a long re-read is not delayed
                        batch.append(entry)
                        if seq == dumping:
                            seen.add(link.name)
                    if dumping is None or (started and seq is None):
                        await self.feed([entry], Arrival(stamp, trio.current_time()))

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Control socket first (a second daemon must fail before it touches the kernel), then
        reconcile, follow the kernel, and report ready."""
        from teamd_py.control.server import serve_control
        from teamd_py.daemon.control import DaemonControl

        self.announcer = Announcer()
        settings = self.config.daemon
        try:
            async with (
                NetlinkSocket.open(rcvbuf=settings.netlink_buffer_kib * 1024) as nl,
                DumpSocket.open() as dumps,
                trio.open_nursery() as nursery,
            ):
                self.nl, self.nursery = nl, nursery
                self.backend = backend = BondBackend(nl, dumps)
                await nursery.start(
                    partial(
                        serve_control,
                        settings.control_socket,
                        DaemonControl(self),
                        group=settings.control_group,
                    )
                )
                await self.reconcile(backend)
                for team in self.config.teams:
                    controller = TeamController(team, backend, self.announcer, nursery)
                    self.controllers.append(controller)
                    nursery.start_soon(controller.run_timer)
                await nursery.start(self.follow, nl)
                if settings.metrics_listen:
                    nursery.start_soon(
                        metrics.serve_http, settings.metrics_listen, self.controllers
                    )
                self.ready = True
                nursery.start_soon(self.repair_drift)
                log.info(
                    "ready",
                    teams=[t.name for t in self.config.teams],
                    control_socket=settings.control_socket,
                )
                task_status.started()
                try:
                    await trio.sleep_forever()
                finally:
                    if self.config.daemon.teardown_on_stop:
                        await self.teardown()
        finally:
            self.announcer.close()

    async def teardown(self) -> None:
        """`teardown_on_stop`: delete every team's bond (its VLANs go with it, its members are
        released). Shielded and bounded: it runs while the daemon is being cancelled."""
        assert self.backend is not None
        with trio.CancelScope(shield=True), trio.move_on_after(10):
            for controller in self.controllers:
                try:
                    await self.backend.delete_link(controller.team.name)
                    log.info("team_removed", team=controller.team.name)
                except NetlinkError as exc:
                    log.error("teardown_failed", team=controller.team.name, error=str(exc))


def _describe(step: Step) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in vars(step).items())
    return f"{type(step).__name__}({fields})"


def _gone(name: str) -> Link:
    return Link(
        index=-1,
        name=name,
        kind=None,
        mac=None,
        admin_up=False,
        carrier=False,
        master=None,
        link=None,
    )


async def run(config: Config) -> None:
    """Run until SIGTERM or SIGINT; the kernel devices stay in place and keep forwarding.

    systemd hears READY=1 only once every team is reconciled and has seen the kernel's links, so
    units ordered after ours find the teams in place. SIGHUP is taken and ignored until reload
    exists: its default action would end the daemon with a "clean" signal, which Restart=on-failure
    does not restart.
    """
    from teamd_py.daemon import notify

    daemon = Daemon(config)

    def summary() -> str:
        return notify.status_line((c.team.name, c.engine) for c in daemon.controllers)

    with (
        notify.Notifier() as notifier,
        trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals,
    ):
        async with trio.open_nursery() as nursery:
            interval = notify.watchdog_interval()
            if interval is not None:
                nursery.start_soon(notify.keep_watchdog, notifier, interval)
            await nursery.start(daemon.serve)
            notifier.ready(summary())
            nursery.start_soon(notify.keep_status, notifier, summary)
            async for signum in signals:
                if signum == signal.SIGHUP:
                    notifier.reloading()
                    try:
                        await daemon.reload()
                    except ControlError as exc:
                        first, *more = exc.message.splitlines() or [""]
                        extra = f" (and {len(more)} more)" if more else ""
                        notifier.reloaded(f"reload failed, old config kept: {first}{extra}")
                        continue
                    notifier.reloaded(summary())
                    continue
                log.info("stopping", signal=signal.Signals(signum).name)
                notifier.stopping()
                nursery.cancel_scope.cancel()
                break
