"""The AFT engine: which member of a team carries traffic, decided without any I/O.

Rules of this module:
- everything that decides the active member lives here; the shell only reports and applies;
- time is an argument (monotonic seconds); the engine never reads a clock, never sleeps, and says
  when it next needs to be woken (`next_deadline`);
- an observation naming a member the team does not have is an error, raised before anything changes.

Theory of operation. Each member has a health state moved by a declarative table (`TRANSITIONS`):
carrier up takes a down member to RISING, which becomes UP after `up_delay`; carrier down takes an
up member to FALLING, which counts as healthy until `down_delay` ends and then becomes DOWN. A
carrier change that reverts within the delay leaves no trace, so flapping faster than the delays
switches nothing. Path probes (see `path.py`) add a verdict per member: UP, DOWN, or UNKNOWN until
enough rounds were seen. After every input the engine ranks members in tiers:
  4. carrier healthy and path UP (for the current active member, UNKNOWN counts here too: a member
     already carrying traffic keeps it until its path is proven down);
  3. carrier healthy, path UNKNOWN;   2. carrier healthy, path DOWN;   1. RISING;   0. the rest.
The active member stays while no member is in a better tier; in tier 4 it yields to a member with
a strictly higher priority that has been proven healthy for `preempt_delay` (if `preempt`).
Otherwise the best-ranked member (priority, then config order) of the best tier takes over. With
nobody above tier 0 the current member is kept and the team is down; while the active member is
below tier 4 the team is degraded. A target that no member reaches puts everybody in tier 2: the
team stays where it is. A member the kernel refused to activate is passed over for
`refusal_backoff` seconds. A member an operator pinned is kept active, preempt or not, until it
fails (loses carrier, vanishes, is refused, or, unless forced, its path is proven down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from teamd_py.config import Preempt, TeamConfig
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


class UnknownMember(ValueError):
    """An observation named a member that the team does not have."""


class _Input(Enum):
    CARRIER_UP = "carrier_up"
    CARRIER_DOWN = "carrier_down"
    GONE = "gone"
    DELAY_OVER = "delay_over"


_A, _D, _R, _U, _F = Health.ABSENT, Health.DOWN, Health.RISING, Health.UP, Health.FALLING
_UP, _DN, _GONE, _OVER = _Input.CARRIER_UP, _Input.CARRIER_DOWN, _Input.GONE, _Input.DELAY_OVER

#: health -> input -> next health. A missing entry is a bug in the engine, never an input error.
TRANSITIONS: dict[Health, dict[_Input, Health]] = {
    _A: {_UP: _R, _DN: _D, _GONE: _A},
    _D: {_UP: _R, _DN: _D, _GONE: _A},
    _R: {_UP: _R, _DN: _D, _GONE: _A, _OVER: _U},
    _U: {_UP: _U, _DN: _F, _GONE: _A},
    _F: {_UP: _U, _DN: _F, _GONE: _A, _OVER: _D},
}

HEALTHY = frozenset({Health.UP, Health.FALLING})


@dataclass(frozen=True)
class MemberPolicy:
    name: str
    priority: int


@dataclass(frozen=True)
class Damping:
    """Route-flap damping for carrier, in the spirit of BGP's: every carrier loss adds `penalty`,
    which halves every `half_life` seconds. A member at or above `suppress` counts only as a last
    resort until it decays below `reuse`; and traffic never goes back (preempt) to a member above
    `reuse`, so a cable that flaps costs one switch away and one switch back once it is quiet."""

    penalty: float = 1000.0
    suppress: float = 2000.0
    reuse: float = 750.0
    half_life: float = 5.0
    ceiling: float = 8000.0  # no penalty grows past this: suppression always ends in time

    def decayed(self, value: float, since: float, now: float) -> float:
        return value * 0.5 ** ((now - since) / self.half_life) if value else 0.0

    def falls_below(self, level: float, value: float, since: float) -> float:
        """When `value`, set at `since`, decays below `level`."""
        if value <= level:
            return since
        return since + self.half_life * math.log2(value / level)


@dataclass(frozen=True)
class TeamPolicy:
    """What the engine needs of a team's config, with times in seconds."""

    members: tuple[MemberPolicy, ...]
    preempt: bool = True
    preempt_delay: float = 0.0
    up_delay: float = 0.0
    down_delay: float = 0.0
    refusal_backoff: float = 1.0
    probing: bool = False  # members' paths start UNKNOWN, not UP
    damping: Damping | None = None

    @classmethod
    def from_config(cls, team: TeamConfig) -> TeamPolicy:
        return cls(
            members=tuple(MemberPolicy(m.name, m.priority) for m in team.members),
            preempt=team.preempt is Preempt.ALWAYS,
            preempt_delay=team.preempt_delay_ms / 1000,
            up_delay=team.carrier.up_delay_ms / 1000,
            down_delay=team.carrier.down_delay_ms / 1000,
            probing=bool(team.probes),
            damping=Damping(
                penalty=team.damping.penalty,
                suppress=team.damping.suppress,
                reuse=team.damping.reuse,
                half_life=team.damping.half_life_ms / 1000,
            )
            if team.damping.enabled
            else None,
        )


@dataclass
class MemberState:
    name: str
    priority: int
    order: int
    health: Health = Health.ABSENT
    delay_until: float | None = None  # when RISING/FALLING ends
    path: PathStatus = PathStatus.UP
    healthy_since: float | None = None  # proven healthy: carrier and path both UP
    refused_until: float | None = None
    penalty: float = 0.0  # flap penalty as of `penalty_at`
    penalty_at: float = 0.0
    suppressed: bool = False

    def usable(self, now: float) -> bool:
        return self.refused_until is None or now >= self.refused_until

    @property
    def rank(self) -> tuple[int, int]:
        return (self.priority, -self.order)


@dataclass
class AftEngine:
    """One team's decision logic: feed it `observe` and `handle_timer`, apply what it returns."""

    policy: TeamPolicy
    members: dict[str, MemberState] = field(init=False)
    active: str | None = field(init=False, default=None)
    state: TeamState | None = field(init=False, default=None)  # None until the first choice
    pinned: str | None = field(init=False, default=None)
    pin_forced: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        path = PathStatus.UNKNOWN if self.policy.probing else PathStatus.UP
        self.members = {
            m.name: MemberState(m.name, m.priority, i, path=path)
            for i, m in enumerate(self.policy.members)
        }

    def carry_from(self, old: AftEngine) -> None:
        """After a reload: what the old engine knew of members that remain stays known, so a
        reload that keeps a member keeps its health, its path verdict and its place."""
        for name, state in old.members.items():
            if name in self.members:
                mine = self.members[name]
                for attr in ("health", "delay_until", "healthy_since", "refused_until"):
                    setattr(mine, attr, getattr(state, attr))
                if self.policy.probing == old.policy.probing:
                    mine.path = state.path
        self.active = old.active if old.active in self.members else None
        if old.pinned in self.members:
            self.pinned, self.pin_forced = old.pinned, old.pin_forced
        self.state = old.state

    # -- inputs -----------------------------------------------------------------------------------

    def observe(self, *observations: Observation, now: float) -> list[Decision]:
        """Take a batch of observations made at one moment, then choose once.

        A batch matters at start-up and after a re-read: "eth0 is active" and "eth0 has carrier"
        arrive together, and choosing between them would switch for nothing.
        """
        for obs in observations:
            self._validate(obs)
        out: list[Decision] = []
        drift: str | None = None
        for obs in observations:
            match obs:
                case MemberPresent(member=name, carrier=carrier):
                    self._step(self.members[name], _UP if carrier else _DN, now, out)
                case MemberAbsent(member=name):
                    self._step(self.members[name], _GONE, now, out)
                case PathReported(member=name, status=status):
                    self.members[name].path = status
                    self._proven(self.members[name], now)
                case ActiveReported(member=name):
                    if self._drifted(name, now):
                        drift = name
                    else:
                        if name != self.active and self.active is not None:
                            out.append(KernelSwitched(self.active, name))
                        self.active = name
                case Pin(member=name, forced=forced):
                    self.pinned, self.pin_forced = name, forced and name is not None
                case SwitchRefused(member=name, active=active):
                    self.members[name].refused_until = now + self.policy.refusal_backoff
                    self.active = active
        self._expire(now, out)
        if drift is not None and self._drifted(drift, now):
            assert self.active is not None
            out.append(Activate(self.active, drift, Reason.DRIFT))
        self._choose(now, out)
        return out

    def _drifted(self, reported: str | None, now: float) -> bool:
        """The kernel's active member changed while ours can still carry the team: not the
        kernel's safety net (it only moves off a member without carrier), so someone else did it.
        Only `teamd-py switch` may choose a member; the daemon's choice is restored."""
        if self.active is None or reported == self.active:
            return False
        current = self.members[self.active]
        return (
            current.health in HEALTHY
            and current.usable(now)
            and current.path is not PathStatus.DOWN
        )

    def _validate(self, obs: Observation) -> None:
        match obs:
            case MemberPresent(member=name) | MemberAbsent(member=name) | PathReported(member=name):
                self._member(name)
            case ActiveReported(member=name) | Pin(member=name):
                if name is not None:
                    self._member(name)
            case SwitchRefused(member=name, active=active):
                self._member(name)
                if active is not None:
                    self._member(active)
            case _:
                raise TypeError(f"not an observation: {obs!r}")

    def handle_timer(self, now: float) -> list[Decision]:
        if self.state is None:  # nothing observed yet: nothing to decide, no state to report
            return []
        out: list[Decision] = []
        self._expire(now, out)
        self._choose(now, out)
        return out

    def next_deadline(self) -> float | None:
        """The earliest time at which the engine's view changes by itself."""
        times: list[float] = []
        for m in self.members.values():
            if m.delay_until is not None:
                times.append(m.delay_until)
            if m.refused_until is not None:
                times.append(m.refused_until)
            if m.suppressed:
                times.append(self._quiet_at(m))
        preempt_at = self._preempt_time()
        if preempt_at is not None:
            times.append(preempt_at)
        return min(times, default=None)

    # -- health -----------------------------------------------------------------------------------

    def _member(self, name: str) -> MemberState:
        try:
            return self.members[name]
        except KeyError:
            raise UnknownMember(f"{name!r} is not a member of this team") from None

    def _step(self, m: MemberState, inp: _Input, now: float, out: list[Decision]) -> None:
        old = m.health
        new = TRANSITIONS[old][inp]
        if (new is Health.RISING and not self.policy.up_delay) or (
            new is Health.FALLING and not self.policy.down_delay
        ):
            new = TRANSITIONS[new][_OVER]  # no delay: no intermediate state to report
        if inp is _DN and old in (Health.UP, Health.RISING):
            self._flapped(m, now, out)
        if new is old:
            return
        m.health = new
        if new is Health.RISING:
            m.delay_until = now + self.policy.up_delay
        elif new is Health.FALLING:
            m.delay_until = now + self.policy.down_delay
        else:
            m.delay_until = None
        self._proven(m, now)
        if inp in (_UP, _GONE):
            m.refused_until = None  # a fresh carrier (or a new NIC) deserves a fresh try
        out.append(HealthChanged(m.name, old, new))

    def _flapped(self, m: MemberState, now: float, out: list[Decision]) -> None:
        damping = self.policy.damping
        if damping is None:
            return
        value = damping.decayed(m.penalty, m.penalty_at, now) + damping.penalty
        m.penalty, m.penalty_at = min(value, damping.ceiling), now
        if not m.suppressed and m.penalty >= damping.suppress:
            m.suppressed = True
            out.append(Damped(m.name, True, round(m.penalty)))

    def penalty(self, name: str, now: float) -> float:
        m = self._member(name)
        damping = self.policy.damping
        return damping.decayed(m.penalty, m.penalty_at, now) if damping else 0.0

    def _quiet_at(self, m: MemberState) -> float:
        """When the member's penalty is below `reuse` (now or later)."""
        damping = self.policy.damping
        if damping is None or not m.penalty:
            return -math.inf
        return damping.falls_below(damping.reuse, m.penalty, m.penalty_at)

    def _proven(self, m: MemberState, now: float) -> None:
        proven = m.health in HEALTHY and m.path is PathStatus.UP
        if proven and m.healthy_since is None:
            m.healthy_since = now
        elif not proven:
            m.healthy_since = None

    def _expire(self, now: float, out: list[Decision]) -> None:
        for m in self.members.values():
            if m.delay_until is not None and now >= m.delay_until:
                self._step(m, _OVER, m.delay_until, out)
            if m.refused_until is not None and now >= m.refused_until:
                m.refused_until = None
            if m.suppressed and now >= self._quiet_at(m):
                m.suppressed = False
                out.append(Damped(m.name, False, round(self.penalty(m.name, now))))

    # -- choice -----------------------------------------------------------------------------------

    def _tier(self, m: MemberState, now: float) -> int:
        if not m.usable(now):
            return 0
        if m.suppressed:  # flapping: a last resort, like a member whose carrier just came back
            return 1 if m.health in (*HEALTHY, Health.RISING) else 0
        if m.health in HEALTHY:
            if m.path is PathStatus.UP:
                return 4
            if m.path is PathStatus.UNKNOWN:
                return 4 if m.name == self.active else 3
            return 2
        return 1 if m.health is Health.RISING else 0

    def _preempt_time(self) -> float | None:
        """When a better proven member may take over a healthy active one, if it ever may."""
        if not self.policy.preempt or self.active is None or self.pinned is not None:
            return None
        current = self.members[self.active]
        if current.health not in HEALTHY or current.path is PathStatus.DOWN:
            return None
        better = [
            max(m.healthy_since + self.policy.preempt_delay, self._quiet_at(m))
            for m in self.members.values()
            if m.priority > current.priority
            and m.healthy_since is not None
            and m.refused_until is None  # a refused member's own deadline wakes us instead
        ]
        return min(better, default=None)

    def _reason(self, current: MemberState | None, now: float) -> Reason:
        if current is None:
            return Reason.INITIAL
        if current.health is Health.ABSENT:
            return Reason.ACTIVE_ABSENT
        if not current.usable(now):
            return Reason.REFUSED
        if current.health not in HEALTHY:
            return Reason.ACTIVE_DOWN
        if current.suppressed:
            return Reason.DAMPED
        return Reason.PATH_DOWN

    def healthy(self, name: str, now: float) -> bool:
        """Proven able to carry the team: carrier healthy, path up, not refused."""
        m = self._member(name)
        return m.health in HEALTHY and m.path is PathStatus.UP and m.usable(now)

    def _pin_holds(self, now: float, out: list[Decision]) -> MemberState | None:
        if self.pinned is None:
            return None
        m = self.members[self.pinned]
        why = None
        if not m.usable(now):
            why = "refused"
        elif m.health not in HEALTHY:
            why = "carrier"
        elif m.path is PathStatus.DOWN and not self.pin_forced:
            why = "path"
        if why is None:
            return m
        out.append(PinReleased(m.name, why))
        self.pinned, self.pin_forced = None, False
        return None

    def _choose(self, now: float, out: list[Decision]) -> None:
        pinned = self._pin_holds(now, out)
        if pinned is not None:
            if pinned.name != self.active:
                out.append(Activate(pinned.name, self.active, Reason.MANUAL))
                self.active = pinned.name
            self._report(now, out)
            return
        current = self.members[self.active] if self.active is not None else None
        current_tier = self._tier(current, now) if current is not None else 0
        best = max(self.members.values(), key=lambda m: (self._tier(m, now), m.rank))
        best_tier = self._tier(best, now)
        target: MemberState | None = None
        if best_tier > current_tier:
            target, reason = best, self._reason(current, now)
        elif current_tier == 4:
            preempt_at = self._preempt_time()
            if preempt_at is not None and now >= preempt_at:
                candidates = [
                    m
                    for m in self.members.values()
                    if m.healthy_since is not None
                    and m.refused_until is None
                    and now >= self._quiet_at(m)
                    and now >= m.healthy_since + self.policy.preempt_delay
                ]
                target = max(candidates, key=lambda m: m.rank)
                reason = Reason.PREEMPT
        if target is not None and target is not current:
            out.append(Activate(target.name, self.active, reason))
            self.active = target.name
        self._report(now, out)

    def _report(self, now: float, out: list[Decision]) -> None:
        active = self.members[self.active] if self.active is not None else None
        tier = self._tier(active, now) if active is not None else 0
        if tier == 4 and active is not None and active.path is PathStatus.UP:
            state = TeamState.UP
        else:
            state = TeamState.DEGRADED if tier > 0 else TeamState.DOWN
        if state != self.state:
            self.state = state
            out.append(TeamStatus(state, self.active))
