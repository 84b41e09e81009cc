"""The event bus behind `teamd-py events`, and the metrics text behind `teamd-py metrics`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import trio

from teamd_py.config import parse_config
from teamd_py.daemon import events, metrics
from teamd_py.daemon.team import SwitchStats
from teamd_py.engine.aft import AftEngine, TeamPolicy
from teamd_py.engine.events import Activate, ActiveReported, MemberPresent, Reason
from teamd_py.kernel.links import Link


async def test_the_bus_keeps_followed_events_and_feeds_subscribers():
    bus = events.EventBus()
    got: list[dict[str, Any]] = []

    async def listen(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        agen = bus.subscribe()
        task_status.started()
        async for record in agen:
            got.append(record)
            if len(got) == 2:
                return

    async with trio.open_nursery() as nursery:
        await nursery.start(listen)
        await trio.sleep(0)
        bus.processor(None, "info", {"event": "kernel_change", "step": "SetUp"})  # not followed
        bus.processor(None, "info", {"event": "switchover", "to_member": "eth1", "x": [1]})
        bus.processor(None, "info", {"event": "team_down", "team": "team1"})
    assert [g["event"] for g in got] == ["switchover", "team_down"]
    assert got[0]["x"] == "[1]"  # made JSON-safe
    assert [r["event"] for r in bus.recent] == ["switchover", "team_down"]


def test_the_bus_never_blocks_on_a_subscriber_that_lags():
    bus = events.EventBus()
    send, _receive = trio.open_memory_channel[dict[str, Any]](1)
    bus._subscribers.add(send)
    for _ in range(5):
        bus.processor(None, "info", {"event": "switchover"})
    assert len(bus.recent) == 5


@dataclass
class FakeController:
    team: Any
    engine: AftEngine
    links: dict[str, Link]
    stats: SwitchStats = field(default_factory=SwitchStats)
    monitor: None = None


async def test_metrics_keep_node_exporter_meanings_and_add_our_own():
    team = parse_config(
        {
            "team": [
                {"name": "team1", "member": [{"name": "eth0", "role": "primary"}, {"name": "eth1"}]}
            ]
        }
    ).teams[0]
    engine = AftEngine(TeamPolicy.from_config(team))
    engine.observe(
        MemberPresent("eth0", False),
        MemberPresent("eth1", True),
        ActiveReported("eth1"),
        now=trio.current_time(),
    )
    link = dict(kind=None, mac=None, admin_up=True, master=4, link=None)
    links = {
        "eth0": Link(index=2, name="eth0", carrier=False, **link),
        "eth1": Link(index=3, name="eth1", carrier=True, **link),
    }
    controller = FakeController(team, engine, links)
    controller.stats.record(Activate("eth1", "eth0", Reason.ACTIVE_DOWN), 3.0)
    text = metrics.render([controller])  # type: ignore[list-item]
    for line in [
        'node_bonding_slaves{master="team1"} 2.0',
        'node_bonding_active{master="team1"} 1.0',
        'teamd_py_member_active{member="eth1",team="team1"} 1.0',
        'teamd_py_member_healthy{member="eth0",team="team1"} 0.0',
        'teamd_py_team_state{state="up",team="team1"} 1.0',
        'teamd_py_switchovers_total{reason="active_down",team="team1"} 1.0',
        'teamd_py_decision_latency_seconds_bucket{le="0.002",team="team1"} 0.0',
        'teamd_py_decision_latency_seconds_bucket{le="0.005",team="team1"} 1.0',
        'teamd_py_decision_latency_seconds_count{team="team1"} 1.0',
    ]:
        assert line in text, line
