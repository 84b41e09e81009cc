"""The AFT engine, transition by transition, with time passed in explicitly."""

from __future__ import annotations

import math

import pytest
import trio

from teamd_py.engine.aft import AftEngine, Damping, MemberPolicy, TeamPolicy, UnknownMember
from teamd_py.engine.events import (
    Activate,
    ActiveReported,
    Damped,
    Health,
    HealthChanged,
    MemberAbsent,
    MemberPresent,
    PathReported,
    PathStatus,
    Pin,
    PinReleased,
    Reason,
    SwitchRefused,
    TeamState,
    TeamStatus,
)

PRIMARY, SECONDARY = MemberPolicy("eth0", 200), MemberPolicy("eth1", 100)


def engine(**policy: object) -> AftEngine:
    members = policy.pop("members", (PRIMARY, SECONDARY))
    return AftEngine(TeamPolicy(members=members, **policy))  # type: ignore[arg-type]


def started(e: AftEngine, now: float = 0.0, active: str | None = "eth0") -> AftEngine:
    """Both members up at `now` (seen `up_delay` earlier), `active` reported by the kernel."""
    e.observe(
        MemberPresent("eth0", True),
        MemberPresent("eth1", True),
        ActiveReported(active),
        now=now - e.policy.up_delay,
    )
    e.handle_timer(now)
    assert all(m.health is Health.UP for m in e.members.values())
    return e


def test_first_sight_of_a_member_waits_for_up_delay_and_the_team_is_degraded_meanwhile():
    e = engine(up_delay=0.5)
    out = e.observe(
        MemberPresent("eth0", True), MemberPresent("eth1", True), ActiveReported("eth0"), now=0
    )
    assert switches(out) == [] and TeamStatus(TeamState.DEGRADED, "eth0") in out
    assert e.members["eth0"].health is Health.RISING
    assert e.handle_timer(0.5) == [
        HealthChanged("eth0", Health.RISING, Health.UP),
        HealthChanged("eth1", Health.RISING, Health.UP),
        TeamStatus(TeamState.UP, "eth0"),
    ]


def switches(decisions: list) -> list[Activate]:
    return [d for d in decisions if isinstance(d, Activate)]


def test_first_choice_is_the_primary_and_the_team_comes_up():
    e = engine()
    out = e.observe(MemberPresent("eth1", True), MemberPresent("eth0", True), now=0)
    assert switches(out) == [Activate("eth0", None, Reason.INITIAL)]
    assert out[-1] == TeamStatus(TeamState.UP, "eth0")
    assert e.active == "eth0"


def test_adopting_the_kernels_right_choice_switches_nothing():
    e = engine()
    out = e.observe(
        MemberPresent("eth0", True), MemberPresent("eth1", True), ActiveReported("eth0"), now=0
    )
    assert switches(out) == []
    assert TeamStatus(TeamState.UP, "eth0") in out


def test_repeated_observations_change_nothing():
    e = started(engine())
    assert e.observe(MemberPresent("eth0", True), MemberPresent("eth1", True), now=1) == []


def test_carrier_loss_of_the_active_switches_at_once():
    e = started(engine())
    out = e.observe(MemberPresent("eth0", False), now=5)
    assert HealthChanged("eth0", Health.UP, Health.DOWN) in out
    assert switches(out) == [Activate("eth1", "eth0", Reason.ACTIVE_DOWN)]


def test_vanished_active_member_is_replaced():
    e = started(engine())
    assert switches(e.observe(MemberAbsent("eth0"), now=5)) == [
        Activate("eth1", "eth0", Reason.ACTIVE_ABSENT)
    ]


def test_down_delay_hides_a_short_carrier_loss():
    e = started(engine(down_delay=0.2))
    out = e.observe(MemberPresent("eth0", False), now=1.0)
    assert switches(out) == [] and e.members["eth0"].health is Health.FALLING
    assert e.next_deadline() == pytest.approx(1.2)
    assert e.observe(MemberPresent("eth0", True), now=1.1) == [
        HealthChanged("eth0", Health.FALLING, Health.UP)
    ]
    assert e.next_deadline() is None
    assert e.handle_timer(1.3) == []


def test_down_delay_then_switch_when_the_loss_lasts():
    e = started(engine(down_delay=0.2))
    e.observe(MemberPresent("eth0", False), now=1.0)
    assert e.handle_timer(1.19) == []
    out = e.handle_timer(1.2)
    assert switches(out) == [Activate("eth1", "eth0", Reason.ACTIVE_DOWN)]


def test_up_delay_then_preempt_back_to_the_primary():
    e = started(engine(up_delay=0.5))
    e.observe(MemberPresent("eth0", False), now=1)
    assert e.active == "eth1"
    out = e.observe(MemberPresent("eth0", True), now=2)
    assert switches(out) == [] and e.members["eth0"].health is Health.RISING
    assert e.next_deadline() == pytest.approx(2.5)
    assert switches(e.handle_timer(2.5)) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_preempt_delay_counts_from_when_the_better_member_became_healthy():
    e = started(engine(preempt_delay=3.0))
    e.observe(MemberPresent("eth0", False), now=1)
    e.observe(MemberPresent("eth0", True), now=2)
    assert e.active == "eth1" and e.next_deadline() == pytest.approx(5.0)
    assert e.handle_timer(4.9) == []
    assert switches(e.handle_timer(5.0)) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_a_preempt_delay_restarts_if_the_better_member_flaps():
    e = started(engine(preempt_delay=3.0))
    e.observe(MemberPresent("eth0", False), now=1)
    e.observe(MemberPresent("eth0", True), now=2)
    e.observe(MemberPresent("eth0", False), now=3)
    e.observe(MemberPresent("eth0", True), now=4)
    assert e.handle_timer(5.0) == []
    assert switches(e.handle_timer(7.0)) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_preempt_never_stays_on_a_healthy_backup():
    e = started(engine(preempt=False))
    e.observe(MemberPresent("eth0", False), now=1)
    out = e.observe(MemberPresent("eth0", True), now=2)
    assert switches(out) == [] and e.next_deadline() is None
    assert e.active == "eth1"
    assert switches(e.observe(MemberPresent("eth1", False), now=3)) == [
        Activate("eth0", "eth1", Reason.ACTIVE_DOWN)
    ]


def test_equal_priorities_do_not_preempt():
    e = started(engine(members=(MemberPolicy("eth0", 0), MemberPolicy("eth1", 0))))
    e.observe(MemberPresent("eth0", False), now=1)
    assert e.active == "eth1"
    assert switches(e.observe(MemberPresent("eth0", True), now=2)) == []


def test_explicit_priority_beats_config_order():
    e = engine(members=(MemberPolicy("eth0", 5), MemberPolicy("eth1", 10)))
    out = e.observe(MemberPresent("eth0", True), MemberPresent("eth1", True), now=0)
    assert switches(out) == [Activate("eth1", None, Reason.INITIAL)]


def test_no_healthy_member_keeps_the_current_one_and_reports_down():
    e = started(engine())
    e.observe(MemberPresent("eth0", False), now=1)
    out = e.observe(MemberPresent("eth1", False), now=2)
    assert switches(out) == []
    assert out[-1] == TeamStatus(TeamState.DOWN, "eth1")
    assert e.active == "eth1"
    out = e.observe(MemberPresent("eth0", True), now=3)
    assert switches(out) == [Activate("eth0", "eth1", Reason.ACTIVE_DOWN)]
    assert out[-1] == TeamStatus(TeamState.UP, "eth0")


def test_a_rising_member_is_better_than_none():
    e = started(engine(up_delay=1.0))
    e.observe(MemberPresent("eth0", False), MemberPresent("eth1", False), now=1)
    assert e.active == "eth0"  # nothing better than the dead active
    out = e.observe(MemberPresent("eth1", True), now=2)
    assert switches(out) == [Activate("eth1", "eth0", Reason.ACTIVE_DOWN)]
    assert e.members["eth1"].health is Health.RISING
    assert TeamStatus(TeamState.DEGRADED, "eth1") in out
    out = e.observe(MemberPresent("eth0", True), now=2.5)
    assert switches(out) == []  # eth0 is rising too; eth1 keeps the traffic
    assert switches(e.handle_timer(3.0)) == []  # eth1 is up first: it stays until eth0 is up
    assert switches(e.handle_timer(3.5)) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_refusal_backs_off_then_retries():
    e = started(engine())
    e.observe(MemberPresent("eth0", False), now=1)  # -> Activate eth1
    out = e.observe(SwitchRefused("eth1", "eth0", "EINVAL"), now=1.001)
    assert switches(out) == [] and e.active == "eth0"
    assert out[-1] == TeamStatus(TeamState.DOWN, "eth0")
    assert e.next_deadline() == pytest.approx(2.001)
    out = e.handle_timer(2.001)
    assert switches(out) == [Activate("eth1", "eth0", Reason.ACTIVE_DOWN)]


def test_refused_member_is_skipped_for_the_next_best():
    members = (PRIMARY, SECONDARY, MemberPolicy("eth2", 0))
    e = engine(members=members)
    e.observe(*(MemberPresent(m.name, True) for m in members), ActiveReported("eth0"), now=0)
    e.observe(MemberPresent("eth0", False), now=1)
    out = e.observe(SwitchRefused("eth1", "eth0", "EINVAL"), now=1)
    assert switches(out) == [Activate("eth2", "eth0", Reason.ACTIVE_DOWN)]


def test_a_refused_better_member_does_not_leave_a_deadline_in_the_past():
    e = started(engine())
    e.observe(MemberPresent("eth0", False), now=1)
    e.observe(MemberPresent("eth0", True), now=2)  # -> Activate eth0 (preempt)
    e.observe(SwitchRefused("eth0", "eth1", "EINVAL"), now=2)
    assert e.active == "eth1"
    assert e.next_deadline() == pytest.approx(3.0)  # the retry, not a preempt already due
    assert e.handle_timer(2.5) == []
    assert switches(e.handle_timer(3.0)) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_a_fresh_carrier_clears_a_refusal():
    e = started(engine())
    e.observe(MemberPresent("eth0", False), now=1)
    e.observe(SwitchRefused("eth1", "eth0", "EINVAL"), now=1)
    e.observe(MemberPresent("eth1", False), now=1.1)
    assert switches(e.observe(MemberPresent("eth1", True), now=1.2)) == [
        Activate("eth1", "eth0", Reason.ACTIVE_DOWN)
    ]


def test_a_hand_made_change_of_a_healthy_active_is_undone():
    for preempt in (True, False):
        e = started(engine(preempt=preempt))
        out = e.observe(ActiveReported("eth1"), now=1)
        assert switches(out) == [Activate("eth0", "eth1", Reason.DRIFT)]
        assert e.active == "eth0"


def test_the_kernels_safety_net_switch_is_believed():
    e = started(engine(preempt=False))
    e.observe(MemberPresent("eth0", False), now=1)  # the daemon switches to eth1 itself
    assert e.active == "eth1"
    e = started(engine(preempt=False))
    out = e.observe(MemberPresent("eth0", False), ActiveReported("eth1"), now=1)
    assert switches(out) == [] and e.active == "eth1"  # the kernel was first: nothing to do
    out = e.observe(ActiveReported("eth0"), now=2)  # someone moves it back to a dead member
    assert switches(out) == [Activate("eth1", "eth0", Reason.DRIFT)] and e.active == "eth1"


def test_unknown_member_is_an_error_and_changes_nothing():
    e = started(engine())
    with pytest.raises(UnknownMember):
        e.observe(MemberPresent("eth0", False), MemberPresent("eth9", True), now=1)
    assert e.members["eth0"].health is Health.UP and e.active == "eth0"
    with pytest.raises(UnknownMember):
        e.observe(ActiveReported("eth9"), now=1)
    with pytest.raises(TypeError):
        e.observe("carrier up", now=1)  # type: ignore[arg-type]


def test_health_table_is_complete_for_every_input_of_a_delayed_state():
    from teamd_py.engine.aft import TRANSITIONS, _Input

    for health, row in TRANSITIONS.items():
        expected = (
            set(_Input)
            if health in (Health.RISING, Health.FALLING)
            else (set(_Input) - {_Input.DELAY_OVER})
        )
        assert set(row) == expected, health


async def test_a_shell_driven_by_trio_timers_sees_the_delays(autojump_clock):
    """The shell's loop: sleep until the engine's deadline, hand it the time, apply."""
    e = started(engine(down_delay=0.3, up_delay=0.5), now=trio.current_time())
    log: list[tuple[float, Activate]] = []

    async def run_until(t: float) -> None:
        while (deadline := e.next_deadline()) is not None and deadline <= t:
            await trio.sleep_until(deadline)
            log.extend((trio.current_time(), a) for a in switches(e.handle_timer(deadline)))
        await trio.sleep_until(t)

    t0 = trio.current_time()
    e.observe(MemberPresent("eth0", False), now=t0)
    await run_until(t0 + 1.0)
    e.observe(MemberPresent("eth0", True), now=trio.current_time())
    await run_until(t0 + 2.0)
    assert [(round(t - t0, 3), a) for t, a in log] == [
        (0.3, Activate("eth1", "eth0", Reason.ACTIVE_DOWN)),
        (1.5, Activate("eth0", "eth1", Reason.PREEMPT)),
    ]


def test_a_pin_moves_traffic_and_holds_against_preempt():
    e = started(engine())
    assert switches(e.observe(Pin("eth1"), now=1)) == [Activate("eth1", "eth0", Reason.MANUAL)]
    assert e.next_deadline() is None
    assert switches(e.handle_timer(10)) == []  # eth0 is better, but the operator chose eth1
    assert switches(e.observe(Pin(None), now=11)) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_a_pinned_member_that_fails_releases_the_pin():
    e = started(engine())
    e.observe(Pin("eth1"), now=1)
    out = e.observe(MemberPresent("eth1", False), now=2)
    assert PinReleased("eth1", "carrier") in out
    assert switches(out) == [Activate("eth0", "eth1", Reason.ACTIVE_DOWN)]
    assert e.pinned is None
    assert switches(e.observe(MemberPresent("eth1", True), now=3)) == []


def test_a_refused_pin_is_released():
    e = started(engine())
    e.observe(Pin("eth1"), now=1)
    out = e.observe(SwitchRefused("eth1", "eth0", "EINVAL"), now=1)
    assert PinReleased("eth1", "refused") in out and e.active == "eth0" and e.pinned is None


def test_a_forced_pin_survives_a_dead_path_but_not_carrier_loss():
    e = AftEngine(TeamPolicy(members=(PRIMARY, SECONDARY), probing=True))
    e.observe(
        MemberPresent("eth0", True),
        MemberPresent("eth1", True),
        ActiveReported("eth0"),
        PathReported("eth0", PathStatus.UP),
        PathReported("eth1", PathStatus.DOWN),
        now=0,
    )
    assert not e.healthy("eth1", 0) and e.healthy("eth0", 0)
    assert switches(e.observe(Pin("eth1"), now=1)) == []  # unforced: released at once
    out = e.observe(Pin("eth1", forced=True), now=2)
    assert switches(out) == [Activate("eth1", "eth0", Reason.MANUAL)]
    assert e.pinned == "eth1" and TeamStatus(TeamState.DEGRADED, "eth1") in out
    out = e.observe(MemberAbsent("eth1"), now=3)
    assert PinReleased("eth1", "carrier") in out
    assert switches(out) == [Activate("eth0", "eth1", Reason.ACTIVE_ABSENT)]


def damped_engine(**kw: object) -> AftEngine:
    members = kw.pop("members", (PRIMARY, SECONDARY))
    return AftEngine(TeamPolicy(members=members, damping=Damping(), **kw))  # type: ignore[arg-type]


def test_a_cable_flapping_every_50_ms_for_5_s_costs_at_most_two_switches():
    e = started(damped_engine())
    out: list = []
    t = 0.0
    for _ in range(50):
        out += e.observe(MemberPresent("eth0", False), now=t)
        t += 0.05
        out += e.observe(MemberPresent("eth0", True), now=t)
        t += 0.05
    assert switches(out) == [Activate("eth1", "eth0", Reason.ACTIVE_DOWN)]
    assert e.members["eth0"].suppressed and e.penalty("eth0", t) > 2000
    assert [d.member for d in out if isinstance(d, Damped) and d.suppressed] == ["eth0"]
    quiet = e.next_deadline()
    assert quiet is not None and quiet > t + 10  # the ceiling decays to reuse in ~17 s
    later = e.handle_timer(quiet)
    assert [(d.member, d.suppressed) for d in later if isinstance(d, Damped)] == [("eth0", False)]
    assert switches(later) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_one_carrier_loss_delays_failback_until_the_penalty_is_below_reuse():
    e = started(damped_engine())
    e.observe(MemberPresent("eth0", False), now=1)
    assert switches(e.observe(MemberPresent("eth0", True), now=1.1)) == []
    back = 1 + 5.0 * math.log2(1000 / 750)  # 1000 halving every 5 s falls below 750
    assert e.next_deadline() == pytest.approx(back)
    assert switches(e.handle_timer(back)) == [Activate("eth0", "eth1", Reason.PREEMPT)]


def test_a_suppressed_member_is_only_a_last_resort():
    third = MemberPolicy("eth2", 0)
    e = damped_engine(members=(PRIMARY, SECONDARY, third))
    e.observe(
        *(MemberPresent(m, True) for m in ("eth0", "eth1", "eth2")), ActiveReported("eth0"), now=0
    )
    for t in (1, 1.2, 1.4):  # the standby flaps three times in a row: suppressed
        e.observe(MemberPresent("eth1", False), now=t)
        e.observe(MemberPresent("eth1", True), now=t + 0.1)
    assert e.members["eth1"].suppressed
    out = e.observe(MemberPresent("eth0", False), now=3)
    assert switches(out) == [Activate("eth2", "eth0", Reason.ACTIVE_DOWN)]
    out = e.observe(MemberPresent("eth2", False), now=4)
    assert switches(out) == [Activate("eth1", "eth2", Reason.ACTIVE_DOWN)]  # better than none


def test_an_active_member_that_keeps_flapping_is_left_for_a_steady_one():
    e = started(damped_engine(down_delay=0.2))  # each loss is hidden by down_delay...
    out: list = []
    for i in range(3):
        out += e.observe(MemberPresent("eth0", False), now=1 + i * 0.1)
        out += e.observe(MemberPresent("eth0", True), now=1.05 + i * 0.1)
    assert switches(out) == [Activate("eth1", "eth0", Reason.DAMPED)]  # ...but not from damping


def test_a_timer_before_any_observation_decides_and_reports_nothing():
    e = engine()
    assert e.handle_timer(5.0) == [] and e.state is None
