"""The daemon: reconcile every team with the kernel, then follow link events until stopped.

Start-up is careful about order. The notification socket is open before the first dump, so no event
falls between reading the kernel and following it. Every team is planned before any is applied, so a
conflict in one leaves the kernel untouched for all; a failure while applying undoes what was
done.
"""

from __future__ import annotations

import signal

import structlog
import trio
from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK

from teamd_py.config import Config
from teamd_py.daemon.team import Arrival, TeamController
from teamd_py.kernel.bond import BondBackend, link_msg
from teamd_py.kernel.links import Link, parse_link
from teamd_py.kernel.netlink import DumpDone, DumpSocket, NetlinkSocket, Notification, Overflow
from teamd_py.kernel.plan import TeamConflict, plan_team
from teamd_py.wire.announce import Announcer

log = structlog.get_logger()


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

    async def follow(
        self, nl: NetlinkSocket, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Feed link states to the teams in the kernel's order, re-reading after an overflow.

        A dump's replies are collected with the notifications that arrive meanwhile and fed as one
        batch when it completes, so every team chooses once, from a complete picture. What came
        before the start-up dump describes our own reconcile steps and is dropped: the dump that
        follows it in the stream is newer.
        """
        dumping: int | None = await nl.start_dump(link_msg(), RTM_GETLINK)
        started = False
        batch: list[tuple[Link, bool]] = []
        seen: set[str] = set()
        async for item in nl.incoming:
            match item:
                case Overflow():
                    log.warning("netlink_overflow", action="re-reading links")
                    dumping = await nl.start_dump(link_msg(), RTM_GETLINK)
                    batch, seen = [], set()
                case DumpDone(dump=seq, stamp=stamp) if seq == dumping:
                    gone = {n for c in self.controllers for n in c.devices} - seen
                    batch += [(_gone(name), True) for name in sorted(gone)]
                    await self.feed(batch, Arrival(stamp, trio.current_time()))
                    dumping, batch = None, []
                    if not started:
                        started = True
                        task_status.started()
                case Notification(msg=msg, dump=seq, stamp=stamp):
                    kind = msg["header"]["type"]
                    if kind not in (RTM_NEWLINK, RTM_DELLINK) or (
                        not started and seq is None and not batch
                    ):
                        continue
                    link = parse_link(msg)
                    entry = (link, kind == RTM_DELLINK)
                    if dumping is not None:
                        batch.append(entry)
                        if seq == dumping:
                            seen.add(link.name)
                    else:
                        await self.feed([entry], Arrival(stamp, trio.current_time()))

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        announcer = Announcer()
        try:
            async with (
                NetlinkSocket.open() as nl,
                DumpSocket.open() as dumps,
                trio.open_nursery() as nursery,
            ):
                backend = BondBackend(nl, dumps)
                await self.reconcile(backend)
                for team in self.config.teams:
                    controller = TeamController(team, backend, announcer, nursery)
                    self.controllers.append(controller)
                    nursery.start_soon(controller.run_timer)
                await nursery.start(self.follow, nl)
                log.info("ready", teams=[t.name for t in self.config.teams])
                task_status.started()
        finally:
            announcer.close()


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
                    log.warning("reload_unsupported", signal="SIGHUP", action="ignored")
                    continue
                log.info("stopping", signal=signal.Signals(signum).name)
                notifier.stopping()
                nursery.cancel_scope.cancel()
                break
