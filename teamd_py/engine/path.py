"""Path health of every member, from probe rounds and validated replies, without any I/O.

Carrier says nothing about the path: a blocked switch port or a pruned VLAN keeps the link light on.
So every member (the standbys too, so their health is known before it is needed) probes each target
once per round. Rules of this module, as for the AFT engine: time is an argument, the monitor says
when it next needs waking, and it returns what to send instead of sending it.

Per target: a round's reply window is half an interval; a round whose window closes without a
valid reply is missed (a later answer does not count), `missed_max` missed rounds in a row take
the target down, and `rise` answered rounds in a row bring it (back) up. A target starts
unknown, so nothing is concluded before enough rounds were seen, and a member whose targets were
missing at start-up comes up as soon as replies begin. A member's path is UP when its policy (`any`
or `all` of the targets) holds for every probe table configured (ARP and NS), DOWN when the policy
cannot hold whatever the unknown targets turn out to be, and UNKNOWN in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from teamd_py.config import PathPolicy, ProbeConfig, ProbeTarget, TeamConfig
from teamd_py.engine.events import PathStatus


@dataclass(frozen=True)
class SendProbe:
    """Probe `target` from `member` now (round `round_` of probe table `table`)."""

    member: str
    table: int
    target: ProbeTarget
    round_: int


@dataclass(frozen=True)
class TargetChanged:
    """A target became reachable or unreachable through a member; for logs and state."""

    member: str
    target: ProbeTarget
    up: bool
    missed: int
    rtt: float | None


@dataclass(frozen=True)
class PathChanged:
    """A member's path verdict changed: the shell hands it to the AFT engine."""

    member: str
    status: PathStatus


PathDecision = SendProbe | TargetChanged | PathChanged


@dataclass
class TargetState:
    up: bool | None = None  # None: not enough rounds seen yet
    missed: int = 0  # rounds in a row without a valid reply
    streak: int = 0  # rounds in a row with one
    answered: bool = False  # in the round now open
    sent_at: float | None = None  # when this round's probe went out
    last_reply: float | None = None
    rtt: float | None = None


@dataclass
class _Table:
    config: ProbeConfig
    next_round: float
    round_: int = 0
    window_closes: float | None = None  # when the open round stops accepting replies

    @property
    def interval(self) -> float:
        return self.config.interval_ms / 1000


@dataclass
class PathMonitor:
    """All members' paths for one team."""

    tables: list[_Table]
    members: tuple[str, ...]
    targets: dict[tuple[str, int, ProbeTarget], TargetState] = field(default_factory=dict)
    path: dict[str, PathStatus] = field(default_factory=dict)

    @classmethod
    def for_team(
        cls, team: TeamConfig, now: float, previous: PathMonitor | None = None
    ) -> PathMonitor:
        """A monitor for `team`; after a reload, targets that remain keep what was learned."""
        monitor = cls([_Table(p, now) for p in team.probes], tuple(m.name for m in team.members))
        for member in monitor.members:
            monitor.reset(member)
        if previous is not None:
            for key, state in previous.targets.items():
                if key in monitor.targets:
                    monitor.targets[key] = state
            for member in monitor.members:
                monitor.path[member] = previous.path.get(member, PathStatus.UNKNOWN)
            monitor._recompute([])
        return monitor

    @property
    def enabled(self) -> bool:
        return bool(self.tables)

    def reset(self, member: str) -> None:
        """A member (re)appeared: what its targets did before says nothing about them now."""
        for ti, table in enumerate(self.tables):
            for target in table.config.targets:
                self.targets[(member, ti, target)] = TargetState()
        self.path[member] = PathStatus.UNKNOWN

    def next_deadline(self) -> float | None:
        times = [t.next_round for t in self.tables]
        times += [t.window_closes for t in self.tables if t.window_closes is not None]
        return min(times, default=None)

    def handle_timer(self, now: float) -> list[PathDecision]:
        """Close the reply windows that are due, then open the rounds that are due.

        Closing a window at half an interval, not when the next round opens, makes the worst case
        from a cut to a verdict `missed_max + 0.5` intervals rather than `missed_max + 1`.
        """
        out: list[PathDecision] = []
        for ti, table in enumerate(self.tables):
            if table.window_closes is not None and now >= table.window_closes:
                self._close_window(ti, table, out)
            if now < table.next_round:
                continue
            if table.window_closes is not None:  # a round may not outlive the next one's start
                self._close_window(ti, table, out)
            for member in self.members:
                for target in table.config.targets:
                    state = self.targets[(member, ti, target)]
                    state.answered = False
                    state.sent_at = now
            table.round_ += 1
            table.next_round = max(table.next_round + table.interval, now)
            table.window_closes = now + table.interval / 2
            out += [
                SendProbe(member, ti, target, table.round_)
                for member in self.members
                for target in table.config.targets
            ]
        self._recompute(out)
        return out

    def _close_window(self, ti: int, table: _Table, out: list[PathDecision]) -> None:
        table.window_closes = None
        for member in self.members:
            for target in table.config.targets:
                state = self.targets[(member, ti, target)]
                if not state.answered:
                    self._missed(member, table, target, state, out)
                state.sent_at = None  # replies from now on are late

    def sent(self, member: str, table: int, target: ProbeTarget, now: float) -> None:
        """The probe actually left (the shell may send it a little after the round opened)."""
        self.targets[(member, table, target)].sent_at = now

    def reply(self, member: str, table: int, target: ProbeTarget, now: float) -> list[PathDecision]:
        """A validated reply to this round's probe; a second one in the same round counts once."""
        state = self.targets[(member, table, target)]
        if state.answered or state.sent_at is None:
            return []
        out: list[PathDecision] = []
        state.answered = True
        state.missed = 0
        state.streak += 1
        state.last_reply = now
        state.rtt = now - state.sent_at
        if state.up is not True and state.streak >= self.tables[table].config.rise:
            state.up = True
            out.append(TargetChanged(member, target, True, 0, state.rtt))
        self._recompute(out)
        return out

    def _missed(
        self,
        member: str,
        table: _Table,
        target: ProbeTarget,
        state: TargetState,
        out: list[PathDecision],
    ) -> None:
        state.missed += 1
        state.streak = 0
        if state.up is not False and state.missed >= table.config.missed_max:
            state.up = False
            out.append(TargetChanged(member, target, False, state.missed, state.rtt))

    def _recompute(self, out: list[PathDecision]) -> None:
        for member in self.members:
            verdicts = [
                _verdict(
                    table.config.policy,
                    [self.targets[(member, ti, t)].up for t in table.config.targets],
                )
                for ti, table in enumerate(self.tables)
            ]
            if PathStatus.DOWN in verdicts:
                status = PathStatus.DOWN
            elif all(v is PathStatus.UP for v in verdicts):
                status = PathStatus.UP
            else:
                status = PathStatus.UNKNOWN
            if status != self.path[member]:
                self.path[member] = status
                out.append(PathChanged(member, status))

    def unreachable(self) -> list[ProbeTarget]:
        """Targets that no member reaches: a problem beyond the team, never a reason to switch."""
        out = []
        for ti, table in enumerate(self.tables):
            for target in table.config.targets:
                if all(self.targets[(m, ti, target)].up is False for m in self.members):
                    out.append(target)
        return out


def _verdict(policy: PathPolicy, ups: list[bool | None]) -> PathStatus:
    """`any`: up if one target is, down if all are. `all`: up if all are, down if one is."""
    decisive, other = (True, False) if policy is PathPolicy.ANY else (False, True)
    if decisive in ups:
        return PathStatus.UP if decisive else PathStatus.DOWN
    if all(u is other for u in ups):
        return PathStatus.DOWN if policy is PathPolicy.ANY else PathStatus.UP
    return PathStatus.UNKNOWN
