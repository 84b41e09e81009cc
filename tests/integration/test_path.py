"""Path probing on the real kernel: silent failures, standby safety, IPv6, missing targets."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import trio

from teamd_py.sandbox.topology import Topology

from .conftest import SEED_CONFIG, active_member, link_json
from .test_team import assert_traffic_on_both_vlans

ARP = """
  [team.arp]
  interval_ms = 100
  missed_max = 3
  rise = 2
  policy = "{policy}"
  targets = [{targets}]
"""
BOTH_GATEWAYS = '{ ip = "192.168.1.254", vlan = 10 }, { ip = "192.168.2.254", vlan = 15 }'


def probing(targets: str = BOTH_GATEWAYS, policy: str = "any", extra: str = "") -> str:
    return SEED_CONFIG.format(preempt="always") + ARP.format(targets=targets, policy=policy) + extra


def _when(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["timestamp"]).timestamp()


async def _wait_paths_up(run, members=("eth0", "eth1"), target: str | None = None) -> None:
    for member in members:
        match = {"member": member} | ({"target": target} if target else {})
        await run.wait_for("path_up", **match)


async def test_silent_failure_of_the_active_path_switches_and_traffic_flows(
    topo: Topology, daemon, nursery
):
    run = daemon(probing())
    await run.start(nursery)
    await run.wait_for("team_up")
    await _wait_paths_up(run)
    await assert_traffic_on_both_vlans(topo)

    cut_from = datetime.now().timestamp()
    await topo.cut_path("eth0")
    cut_to = datetime.now().timestamp()
    switch = await run.wait_for("switchover", to_member="eth1")
    assert switch["reason"] == "path_down" and switch["from_member"] == "eth0"
    measure = {
        "switch_after_cut_ms": [round((_when(switch) - c) * 1000) for c in (cut_to, cut_from)],
        "since_last_reply_ms": [e["since_reply_ms"] for e in run.of("path_down", member="eth0")],
        "decision_ms": switch["decision_ms"],
        "bound_ms": 100 * 3 + 100,
    }
    print("silent failure:", json.dumps(measure))
    (run.log.parent / "silent.json").write_text(json.dumps(measure))
    assert "LOWER_UP" in (await link_json(topo, "eth0"))["flags"]  # carrier never went away
    assert await active_member(topo) == "eth1"
    await assert_traffic_on_both_vlans(topo)
    downs = {(e["member"], e["target"]) for e in run.of("path_down")}
    assert ("eth0", "192.168.1.254") in downs and ("eth0", "192.168.2.254") in downs
    assert not any(member == "eth1" for member, _ in downs)

    await topo.restore_path("eth0")
    back = await run.wait_for("switchover", to_member="eth0")
    assert back["reason"] == "preempt"
    await assert_traffic_on_both_vlans(topo)


async def test_standby_probes_teach_nobody_a_wrong_mac(topo: Topology, daemon, nursery):
    run = daemon(probing())
    await run.start(nursery)
    await _wait_paths_up(run)  # the standby's probes are answered: it really probes
    mac = (await link_json(topo, "team1"))["address"]
    standby_port = topo.port("eth1")
    seen_on: set[str] = set()
    samples = 0
    with trio.move_on_after(10):
        while True:
            fdb = json.loads(await topo.sw("bridge", "-j", "fdb", "show", "br", "br0"))
            seen_on |= {entry["ifname"] for entry in fdb if entry.get("mac") == mac}
            samples += 1
            await trio.sleep(0.1)
    assert samples > 20
    assert standby_port not in seen_on, f"the logical MAC was learned on {standby_port}"
    assert topo.port("eth0") in seen_on
    for address in ("192.168.1.1", "192.168.2.1"):
        neigh = json.loads(await topo.sw("ip", "-j", "neigh", "show", address))
        assert {n.get("lladdr") for n in neigh} <= {mac}, neigh
    perm = (await link_json(topo, "eth1"))["linkinfo"]["info_slave_data"]["perm_hwaddr"]
    all_neigh = json.loads(await topo.sw("ip", "-j", "neigh", "show"))
    assert not [n for n in all_neigh if n.get("lladdr") == perm], all_neigh
    assert len(run.of("path_up", member="eth1")) == 2
    assert not run.of("path_down") and not run.of("switchover")


async def test_an_ipv6_ns_target_detects_a_silent_failure(daemon, nursery):
    topo = Topology(
        prefix="tdpv6",
        gateways=((10, "192.168.1.254/24"), (10, "fd00:10::fe/64"), (15, "192.168.2.254/24")),
    )
    await topo.create()
    try:
        ns = '\n  [team.ns]\n  interval_ms = 100\n  targets = [{ ip = "fd00:10::fe", vlan = 10 }]\n'
        run = daemon(SEED_CONFIG.format(preempt="always") + ns, topo=topo)
        await run.start(nursery)
        await _wait_paths_up(run, target="fd00:10::fe")
        await topo.cut_path("eth0")
        switch = await run.wait_for("switchover", to_member="eth1")
        assert switch["reason"] == "path_down"
        await assert_traffic_on_both_vlans(topo)
    finally:
        await topo.destroy()


async def test_a_target_missing_at_start_comes_up_when_it_answers(topo: Topology, daemon, nursery):
    await topo.sw("ip", "addr", "del", "192.168.1.254/24", "dev", "br0.10")
    run = daemon(probing(targets='{ ip = "192.168.1.254", vlan = 10 }'))
    await run.start(nursery)
    await run.wait_for("team_degraded")
    await run.wait_for("path_down", member="eth0")
    await run.wait_for("path_down", member="eth1")
    assert await active_member(topo) == "eth0"
    await topo.sw("ip", "addr", "add", "192.168.1.254/24", "dev", "br0.10", "nodad")
    await _wait_paths_up(run)
    await run.wait_for("team_up")
    assert not run.of("switchover")
    assert await active_member(topo) == "eth0"


async def test_a_target_no_member_reaches_causes_no_switching(topo: Topology, daemon, nursery):
    targets = BOTH_GATEWAYS + ', { ip = "192.168.1.253", vlan = 10 }'
    run = daemon(probing(targets=targets, policy="all"))
    await run.start(nursery)
    unreachable = await run.wait_for("target_unreachable")
    assert unreachable["target"] == "192.168.1.253"
    await run.wait_for("team_degraded")
    await trio.sleep(1.5)  # fifteen more rounds: room for a wrong switch to show up
    assert not run.of("switchover")
    assert await active_member(topo) == "eth0"
    await assert_traffic_on_both_vlans(topo)
