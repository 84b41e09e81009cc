"""Invariants of the AFT engine over random observation sequences.

A small simulated kernel stands beside the engine: it knows each member's real carrier, refuses
to activate a member without carrier (as the bonding driver does), and wakes the engine at its
deadlines exactly as the daemon's timer does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from teamd_py.engine.aft import HEALTHY, AftEngine, Damping, MemberPolicy, TeamPolicy
from teamd_py.engine.events import (
    Activate,
    ActiveReported,
    Decision,
    MemberAbsent,
    MemberPresent,
    Observation,
    PathReported,
    PathStatus,
    Pin,
    Reason,
    SwitchRefused,
)

NAMES = ("eth0", "eth1", "eth2")


@dataclass
class Sim:
    engine: AftEngine
    carrier: dict[str, bool | None] = field(default_factory=dict)  # None: absent
    now: float = 0.0
    trace: list[tuple[float, Decision, str | None, bool]] = field(default_factory=list)

    def healthy_usable(self) -> list[str]:
        """Members proven healthy: carrier and path both up, not refused."""
        return [
            m.name
            for m in self.engine.members.values()
            if m.health in HEALTHY
            and m.path is PathStatus.UP
            and m.usable(self.now)
            and not m.suppressed  # a flapping member is only a last resort
        ]

    def run(self, decisions: list[Decision]) -> None:
        """Apply decisions like the daemon: a refused switch goes back in as an observation."""
        for d in decisions:
            if isinstance(d, Activate):
                before = self._health(d.previous)
                self.trace.append((self.now, d, d.previous, before))
                if not self.carrier.get(d.member):
                    self.run(
                        self.engine.observe(
                            SwitchRefused(d.member, d.previous, "EINVAL"), now=self.now
                        )
                    )
            self.check()

    def _health(self, name: str | None) -> bool:
        """Carrier healthy, a path not proven dead, not flapping: a member that keeps traffic."""
        if name is None:
            return False
        m = self.engine.members[name]
        return m.health in HEALTHY and m.path is not PathStatus.DOWN and not m.suppressed

    def advance(self, t: float) -> None:
        while (deadline := self.engine.next_deadline()) is not None and deadline <= t:
            self.now = max(self.now, deadline)
            self.run(self.engine.handle_timer(self.now))
            after = self.engine.next_deadline()
            assert after is None or after > self.now, (
                "a deadline that never passes: the timer spins"
            )
        self.now = t

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, MemberPresent):
            self.carrier[obs.member] = obs.carrier
        elif isinstance(obs, MemberAbsent):
            self.carrier[obs.member] = None
        self.run(self.engine.observe(obs, now=self.now))
        self.check()

    def check(self) -> None:
        """After the engine has had its say, a healthy member carries the traffic if one can:
        one with carrier and a path not proven dead (unproven counts only for the current one)."""
        if self.healthy_usable():
            active = self.engine.active
            assert active is not None
            state = self.engine.members[active]
            assert state.health in HEALTHY, (active, self.engine.members)
            assert state.path is not PathStatus.DOWN, (active, self.engine.members)


policies = st.builds(
    TeamPolicy,
    members=st.permutations(NAMES).flatmap(
        lambda names: st.tuples(
            *(st.builds(MemberPolicy, st.just(n), st.sampled_from([0, 100, 200])) for n in names)
        )
    ),
    preempt=st.booleans(),
    preempt_delay=st.sampled_from([0.0, 0.05, 1.0]),
    up_delay=st.sampled_from([0.0, 0.1, 0.5]),
    down_delay=st.sampled_from([0.0, 0.1, 0.5]),
    probing=st.booleans(),
    damping=st.one_of(st.none(), st.just(Damping(half_life=0.5))),
)
observations = st.one_of(
    st.builds(MemberPresent, st.sampled_from(NAMES), st.booleans()),
    st.builds(MemberAbsent, st.sampled_from(NAMES)),
    st.builds(PathReported, st.sampled_from(NAMES), st.sampled_from(PathStatus)),
    st.builds(Pin, st.sampled_from((*NAMES, None))),
)
steps = st.lists(st.tuples(st.floats(0, 0.7), observations), max_size=40)


def simulate(policy: TeamPolicy, seq: list[tuple[float, Observation]]) -> Sim:
    sim = Sim(AftEngine(policy))
    for dt, obs in seq:
        sim.advance(sim.now + dt)
        sim.observe(obs)
    sim.advance(sim.now + 5.0)
    return sim


@settings(max_examples=400, deadline=None)
@given(policies, steps)
def test_a_healthy_member_is_always_chosen_when_one_exists(policy, seq):
    simulate(policy, seq)  # Sim.check asserts after every step


@settings(max_examples=400, deadline=None)
@given(policies, steps)
def test_a_healthy_active_is_left_only_for_a_better_member_under_preempt(policy, seq):
    sim = simulate(policy, seq)
    priority = {m.name: m.priority for m in policy.members}
    for _, decision, previous, previous_healthy in sim.trace:
        if previous_healthy:
            assert decision.reason in (Reason.PREEMPT, Reason.MANUAL)
        if decision.reason is Reason.PREEMPT:
            assert policy.preempt and previous is not None
            assert priority[decision.member] > priority[previous]


@settings(max_examples=300, deadline=None)
@given(policies, steps)
def test_the_engine_is_deterministic(policy, seq):
    assert simulate(policy, seq).trace == simulate(policy, seq).trace


@settings(max_examples=300, deadline=None)
@given(policies, steps, st.floats(0, 0.7))
def test_nothing_happens_before_the_next_deadline(policy, seq, early):
    sim = simulate(policy, seq)
    deadline = sim.engine.next_deadline()
    if deadline is not None:
        assert sim.engine.handle_timer(min(sim.now, deadline - 1e-6)) == []


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([0.1, 0.5]),
    st.sampled_from([0.1, 0.5]),
    st.lists(
        st.tuples(st.sampled_from(NAMES[:2]), st.floats(0, 0.99), st.floats(0, 0.99)), max_size=30
    ),
)
def test_flapping_faster_than_the_delays_switches_nothing(up_delay, down_delay, flaps):
    """Each flap: carrier down for less than down_delay, then up for less than up_delay,
    on the active member or on the standby; neither ever causes a switch."""
    policy = TeamPolicy(
        members=(MemberPolicy("eth0", 200), MemberPolicy("eth1", 100)),
        up_delay=up_delay,
        down_delay=down_delay,
    )
    sim = Sim(AftEngine(policy))
    sim.observe(MemberPresent("eth0", True))
    sim.observe(MemberPresent("eth1", True))
    sim.run(sim.engine.observe(ActiveReported("eth0"), now=sim.now))
    sim.advance(sim.now + 1.0)
    sim.trace.clear()
    for member, down_for, up_for in flaps:
        delay = down_delay if member == "eth0" else up_delay
        sim.observe(MemberPresent(member, False))
        sim.advance(sim.now + down_for * down_delay)
        sim.observe(MemberPresent(member, True))
        sim.advance(sim.now + up_for * delay)
    sim.advance(sim.now + 2.0)
    assert sim.trace == []
    assert sim.engine.active == "eth0"
