"""Prometheus metrics, built by prometheus_client from the teams' own state.

`node_bonding_slaves` and `node_bonding_active` keep the meaning node_exporter's bonding collector
gives them (members enslaved; members whose link is up), so existing dashboards and alerts work
unchanged. Everything else lives under `teamd_py_`.

The optional HTTP listener runs in prometheus_client's own thread; it serves a snapshot that the
event loop refreshes, so no other thread ever reads the daemon's live state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import trio
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from teamd_py.engine.events import TeamState

if TYPE_CHECKING:
    from teamd_py.daemon.team import TeamController

LATENCY_BUCKETS_MS = (0.5, 1, 2, 5, 10, 20, 50, 100, 500)
REFRESH = 1.0


def families(controllers: Iterable[TeamController]) -> list[Metric]:
    slaves = GaugeMetricFamily(
        "node_bonding_slaves",
        "Number of configured slaves per bonding interface.",
        labels=["master"],
    )
    active = GaugeMetricFamily(
        "node_bonding_active", "Number of active slaves per bonding interface.", labels=["master"]
    )
    state = GaugeMetricFamily(
        "teamd_py_team_state", "1 for the team's current state.", labels=["team", "state"]
    )
    member_active = GaugeMetricFamily(
        "teamd_py_member_active",
        "1 for the member carrying the team's traffic.",
        labels=["team", "member"],
    )
    healthy = GaugeMetricFamily(
        "teamd_py_member_healthy",
        "1 when the member has carrier and a proven path.",
        labels=["team", "member"],
    )
    carrier = GaugeMetricFamily(
        "teamd_py_member_carrier", "1 when the member has carrier.", labels=["team", "member"]
    )
    penalty = GaugeMetricFamily(
        "teamd_py_member_flap_penalty",
        "Carrier flap damping penalty (suppressed at or above the team's suppress level).",
        labels=["team", "member"],
    )
    switches = CounterMetricFamily(
        "teamd_py_switchovers", "Switchovers made by the daemon.", labels=["team", "reason"]
    )
    rtt = GaugeMetricFamily(
        "teamd_py_probe_rtt_seconds",
        "Round-trip time of the last answered probe.",
        labels=["team", "member", "target", "vlan"],
    )
    missed = GaugeMetricFamily(
        "teamd_py_probe_missed_rounds",
        "Probe rounds missed in a row.",
        labels=["team", "member", "target", "vlan"],
    )
    latency = HistogramMetricFamily(
        "teamd_py_decision_latency_seconds",
        "From the observation that caused a switch to the kernel's acknowledgement.",
        labels=["team"],
    )
    now = trio.current_time()
    for c in controllers:
        team = c.team.name
        members = c.engine.members
        slaves.add_metric([team], sum(1 for n in members if n in c.links))
        active.add_metric([team], sum(1 for n in members if c.links.get(n) and c.links[n].carrier))
        for s in TeamState:
            state.add_metric([team, s.value], float(c.engine.state is s))
        for name in members:
            member_active.add_metric([team, name], float(name == c.engine.active))
            healthy.add_metric([team, name], float(c.engine.healthy(name, now)))
            penalty.add_metric([team, name], c.engine.penalty(name, now))
            carrier.add_metric(
                [team, name], float(bool(c.links.get(name) and c.links[name].carrier))
            )
        for reason, count in sorted(c.stats.by_reason.items()):
            switches.add_metric([team, reason], count)
        if c.monitor is not None:
            for (name, _, target), t in c.monitor.targets.items():
                labels = [team, name, str(target.ip), str(target.vlan or "")]
                missed.add_metric(labels, t.missed)
                if t.rtt is not None:
                    rtt.add_metric(labels, t.rtt)
        recorded = sorted(c.stats.latencies_ms)
        buckets = [(str(b / 1000), sum(1 for x in recorded if x <= b)) for b in LATENCY_BUCKETS_MS]
        buckets.append(("+Inf", len(recorded)))
        latency.add_metric([team], buckets, sum_value=sum(recorded) / 1000)
    return [
        slaves,
        active,
        state,
        member_active,
        healthy,
        carrier,
        penalty,
        switches,
        rtt,
        missed,
        latency,
    ]


class _Snapshot(Collector):
    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


def render(controllers: Iterable[TeamController]) -> str:
    registry = CollectorRegistry(auto_describe=False)
    snapshot = _Snapshot()
    snapshot.metrics = families(controllers)
    registry.register(snapshot)
    return generate_latest(registry).decode()


async def serve_http(listen: str, controllers: list[TeamController]) -> None:
    """`[daemon] metrics_listen`: /metrics over HTTP, refreshed from the loop every second."""
    host, _, port = listen.rpartition(":")
    registry = CollectorRegistry(auto_describe=False)
    snapshot = _Snapshot()
    registry.register(snapshot)
    snapshot.metrics = families(controllers)
    start_http_server(int(port), addr=host.strip("[]"), registry=registry)
    while True:
        await trio.sleep(REFRESH)
        snapshot.metrics = families(controllers)
