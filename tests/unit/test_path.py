"""The path monitor (rounds, windows, rise and missed_max, policies) and the engine's use of it."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from teamd_py.config import PathPolicy, ProbeConfig, ProbeTarget, parse_config
from teamd_py.engine.aft import AftEngine, MemberPolicy, TeamPolicy
from teamd_py.engine.events import (
    Activate,
    ActiveReported,
    MemberPresent,
    PathReported,
    PathStatus,
    Reason,
    TeamState,
    TeamStatus,
)
from teamd_py.engine.path import PathChanged, PathMonitor, SendProbe, TargetChanged, _Table

GW1 = ProbeTarget(IPv4Address("192.168.1.254"), 10)
GW2 = ProbeTarget(IPv4Address("192.168.2.254"), 15)
UP, DOWN, UNKNOWN = PathStatus.UP, PathStatus.DOWN, PathStatus.UNKNOWN


def monitor(
    *targets: ProbeTarget,
    policy: str = "any",
    rise: int = 2,
    missed: int = 3,
    interval_ms: int = 100,
) -> PathMonitor:
    config = ProbeConfig(
        targets=targets or (GW1,),
        interval_ms=interval_ms,
        missed_max=missed,
        rise=rise,
        policy=PathPolicy(policy),
    )
    m = PathMonitor([_Table(config, 0.0)], ("eth0", "eth1"))
    for member in m.members:
        m.reset(member)
    return m


def paths(decisions: list) -> list[PathChanged]:
    return [d for d in decisions if isinstance(d, PathChanged)]


def run_rounds(m: PathMonitor, until: float, answering: dict[str, bool], rtt: float = 0.001):
    """Drive rounds up to `until`; members in `answering` reply (or not) right after each probe."""
    out: list = []
    while (deadline := m.next_deadline()) is not None and deadline <= until:
        decisions = m.handle_timer(deadline)
        out += decisions
        for probe in decisions:
            if isinstance(probe, SendProbe) and answering.get(probe.member):
                out += m.reply(probe.member, probe.table, probe.target, deadline + rtt)
    return out


def test_a_round_sends_one_probe_per_member_and_target():
    m = monitor(GW1, GW2)
    out = m.handle_timer(0.0)
    assert [d for d in out if isinstance(d, SendProbe)] == [
        SendProbe("eth0", 0, GW1, 1),
        SendProbe("eth0", 0, GW2, 1),
        SendProbe("eth1", 0, GW1, 1),
        SendProbe("eth1", 0, GW2, 1),
    ]
    assert m.next_deadline() == 0.05  # the reply window closes at half an interval


def test_rise_answered_rounds_bring_a_path_up_and_it_starts_unknown():
    m = monitor(rise=2)
    assert m.path["eth0"] is UNKNOWN
    out = run_rounds(m, 0.0, {"eth0": True})
    assert paths(out) == []
    out = run_rounds(m, 0.1, {"eth0": True})
    assert paths(out) == [PathChanged("eth0", UP)]
    assert TargetChanged("eth0", GW1, True, 0, m.targets[("eth0", 0, GW1)].rtt) in out


def test_missed_max_unanswered_windows_take_a_path_down():
    m = monitor(missed=3)
    run_rounds(m, 0.31, {"eth0": True, "eth1": True})  # rounds at 0, 0.1, 0.2, 0.3 answered
    assert m.path["eth0"] is UP
    out = run_rounds(m, 0.6, {"eth1": True})  # eth0 silent from the round at 0.4 on
    assert paths(out) == []  # windows closed unanswered at 0.45 and 0.55: two misses
    out = run_rounds(m, 0.66, {"eth1": True})  # the third at 0.65
    assert paths(out) == [PathChanged("eth0", DOWN)]


def test_targets_that_never_answer_go_down_from_unknown():
    m = monitor(missed=2)
    out = run_rounds(m, 0.2, {})
    assert PathChanged("eth0", DOWN) in paths(out) and PathChanged("eth1", DOWN) in paths(out)


def test_late_and_duplicate_replies_do_not_count():
    m = monitor(rise=1)
    m.handle_timer(0.0)
    assert m.reply("eth0", 0, GW1, 0.01) != []
    assert m.reply("eth0", 0, GW1, 0.02) == []  # once per round
    m.handle_timer(0.051)  # window closes
    m.handle_timer(0.101)
    m.handle_timer(0.152)
    assert m.reply("eth1", 0, GW1, 0.16) == []  # after the window: late
    assert m.targets[("eth1", 0, GW1)].missed == 2


def test_a_broken_streak_needs_rise_again():
    m = monitor(rise=3, missed=1)
    run_rounds(m, 0.11, {"eth0": True})  # rounds at 0 and 0.1 answered
    run_rounds(m, 0.26, {})  # the round at 0.2 is not: its window closes at 0.25
    assert m.targets[("eth0", 0, GW1)].streak == 0
    run_rounds(m, 0.51, {"eth0": True})  # rounds at 0.3, 0.4, 0.5
    assert m.path["eth0"] is UP and m.targets[("eth0", 0, GW1)].streak == 3


def test_policies_any_and_all():
    for policy, ups, expected in [
        ("any", [True, False], UP),
        ("any", [False, False], DOWN),
        ("any", [None, False], UNKNOWN),
        ("all", [True, True], UP),
        ("all", [True, False], DOWN),
        ("all", [True, None], UNKNOWN),
    ]:
        m = monitor(GW1, GW2, policy=policy)
        m.targets[("eth0", 0, GW1)].up, m.targets[("eth0", 0, GW2)].up = ups
        out: list = []
        m._recompute(out)
        assert m.path["eth0"] is expected, (policy, ups)


def test_reset_forgets_a_member_and_unreachable_lists_dead_targets():
    m = monitor(GW1, GW2, missed=1)
    run_rounds(m, 0.2, {"eth0": True})
    assert m.unreachable() == []
    m.targets[("eth0", 0, GW2)].up = False
    m.targets[("eth1", 0, GW2)].up = False
    assert m.unreachable() == [GW2]
    m.reset("eth0")
    assert m.path["eth0"] is UNKNOWN and m.targets[("eth0", 0, GW1)].up is None


@settings(max_examples=200, deadline=None)
@given(st.floats(0.31, 2.0), st.sampled_from([20, 100, 250]), st.integers(1, 5))
def test_a_cut_is_seen_within_missed_max_and_a_half_intervals(cut, interval_ms, missed):
    """Replies stop at `cut`: the verdict comes no later than cut + (missed_max + 0.5) intervals."""
    m = monitor(missed=missed, rise=1, interval_ms=interval_ms)
    interval = interval_ms / 1000
    cut = cut * interval / 0.1
    seen_down = None
    while (deadline := m.next_deadline()) is not None and deadline <= cut + 10 * interval:
        for d in m.handle_timer(deadline):
            if isinstance(d, SendProbe) and d.member == "eth0" and deadline + 0.0005 < cut:
                m.reply("eth0", d.table, d.target, deadline + 0.0005)
            elif d == PathChanged("eth0", DOWN) and seen_down is None and deadline >= cut:
                seen_down = deadline
    assert seen_down is not None
    assert seen_down - cut <= (missed + 0.5) * interval + 1e-9


# -- the engine with paths ------------------------------------------------------------------------


def probing_engine(**kw: object) -> AftEngine:
    return AftEngine(
        TeamPolicy(
            members=(MemberPolicy("eth0", 200), MemberPolicy("eth1", 100)), probing=True, **kw
        )
    )  # type: ignore[arg-type]


def started(e: AftEngine, active: str = "eth0") -> AftEngine:
    e.observe(
        MemberPresent("eth0", True), MemberPresent("eth1", True), ActiveReported(active), now=0
    )
    return e


def switches(out: list) -> list[Activate]:
    return [d for d in out if isinstance(d, Activate)]


def test_unproven_paths_keep_the_current_member_and_the_team_is_degraded():
    e = probing_engine()
    out = e.observe(
        MemberPresent("eth0", True), MemberPresent("eth1", True), ActiveReported("eth0"), now=0
    )
    assert switches(out) == [] and out[-1] == TeamStatus(TeamState.DEGRADED, "eth0")
    out = e.observe(PathReported("eth1", UP), now=0.2)  # the standby proven first: no switch
    assert switches(out) == []
    out = e.observe(PathReported("eth0", UP), now=0.21)
    assert out == [TeamStatus(TeamState.UP, "eth0")]


def test_a_proven_dead_path_switches_to_a_proven_member():
    e = started(probing_engine())
    e.observe(PathReported("eth0", UP), PathReported("eth1", UP), now=1)
    assert switches(e.observe(PathReported("eth0", DOWN), now=2)) == [
        Activate("eth1", "eth0", Reason.PATH_DOWN)
    ]


def test_a_dead_path_prefers_an_unproven_member_to_staying():
    e = started(probing_engine())
    assert switches(e.observe(PathReported("eth0", DOWN), now=2)) == [
        Activate("eth1", "eth0", Reason.PATH_DOWN)
    ]


def test_when_every_path_is_dead_nobody_moves():
    e = started(probing_engine())
    e.observe(PathReported("eth0", UP), PathReported("eth1", UP), now=1)
    out = e.observe(PathReported("eth0", DOWN), PathReported("eth1", DOWN), now=2)
    assert switches(out) == [] and out[-1] == TeamStatus(TeamState.DEGRADED, "eth0")


def test_failback_waits_for_a_proven_path():
    e = started(probing_engine(), active="eth1")
    e.observe(PathReported("eth1", UP), now=1)
    assert switches(e.observe(PathReported("eth0", UNKNOWN), now=2)) == []
    assert switches(e.observe(PathReported("eth0", UP), now=3)) == [
        Activate("eth0", "eth1", Reason.PREEMPT)
    ]


def test_carrier_still_beats_path():
    e = started(probing_engine())
    e.observe(PathReported("eth0", DOWN), PathReported("eth1", DOWN), now=1)
    assert switches(e.observe(MemberPresent("eth0", False), now=2)) == [
        Activate("eth1", "eth0", Reason.ACTIVE_DOWN)
    ]


def test_teams_with_probe_tables_start_unknown():
    config = parse_config(
        {
            "team": [
                {
                    "name": "team1",
                    "member": [{"name": "eth0"}],
                    "vlan": [{"name": "v", "id": 10}],
                    "arp": {"targets": [{"ip": "192.168.1.254", "vlan": 10}]},
                }
            ]
        }
    )
    team = config.teams[0]
    assert TeamPolicy.from_config(team).probing
    assert PathMonitor.for_team(team, 0.0).path == {"eth0": UNKNOWN}
