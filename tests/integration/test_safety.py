"""The daemon never costs traffic: restart, death, drift, hot-plug, and losing every member."""

from __future__ import annotations

import json
import signal
from datetime import datetime

import trio

from teamd_py.sandbox.topology import Topology

from .conftest import SEED_CONFIG, active_member, addresses, link_json
from .test_team import GATEWAYS, assert_traffic_on_both_vlans

FLOW = 3000  # packets each way, 1 per ms


async def _ping(topo: Topology, where: str, target: str, out: dict[str, str]) -> None:
    run = topo.srv if where == "srv" else topo.sw
    extra = ["-I", "vadapt1"] if where == "srv" else []
    out[where] = await run(
        "ping", "-n", "-q", "-c", str(FLOW), "-i", "0.001", "-w", "30", *extra, target, check=False
    )


def _lost(summary: str) -> int:
    line = next(x for x in summary.splitlines() if "received" in x)
    sent, received = (int(part.split()[0]) for part in line.split(",")[:2])
    return sent - received


async def test_kill_9_and_restart_loses_nothing(topo: Topology, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    await assert_traffic_on_both_vlans(topo)
    indexes = {
        d: (await link_json(topo, d))["ifindex"]
        for d in ("team1", "eth0", "eth1", "vadapt1", "vadapt2")
    }
    out: dict[str, str] = {}
    async with trio.open_nursery() as traffic:
        traffic.start_soon(_ping, topo, "srv", GATEWAYS["vadapt1"], out)
        traffic.start_soon(_ping, topo, "sw", "192.168.1.1", out)
        await trio.sleep(0.5)
        assert await run.stop(signal.SIGKILL) == -signal.SIGKILL
        again = daemon(run.config.read_text())
        await again.start(nursery)
        assert (await again.wait_for("team_adopted"))["changes"] == 0
    lost = {where: _lost(summary) for where, summary in out.items()}
    print("kill -9 restart, packets lost of", FLOW, "each way:", lost)
    assert lost == {"srv": 0, "sw": 0}
    assert not again.of("switchover") and not again.of("kernel_change")
    for device, index in indexes.items():
        assert (await link_json(topo, device))["ifindex"] == index
    assert await active_member(topo) == "eth0"


async def test_the_kernel_fails_over_while_the_daemon_is_dead(topo: Topology, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    data = (await link_json(topo, "team1"))["linkinfo"]["info_data"]
    assert data["miimon"] == 100 and data["arp_interval"] == 0  # the safety net, nothing more
    await run.stop(signal.SIGKILL)
    start = trio.current_time()
    await topo.cut_carrier("eth0")
    with trio.fail_after(10):
        while await active_member(topo) != "eth1":
            await trio.sleep(0.02)
    print(
        f"daemon dead: the kernel switched {(trio.current_time() - start) * 1000:.0f} ms after "
        "the cut (miimon 100 ms, polled every 20 ms)"
    )
    await assert_traffic_on_both_vlans(topo)

    again = daemon(run.config.read_text())
    await again.start(nursery)  # adopts what the kernel chose: eth0 has no carrier
    assert not again.of("switchover")
    await topo.restore_carrier("eth0")
    back = await again.wait_for("switchover", to_member="eth0")
    assert back["reason"] == "preempt"
    await assert_traffic_on_both_vlans(topo)


async def _repaired(run, since: int, timeout: float = 10) -> dict:
    """The first drift_repaired after the `since`-th, and how long it took from now."""
    with trio.fail_after(timeout):
        while len(run.of("drift_repaired")) <= since:
            await trio.sleep(0.02)
    return run.of("drift_repaired")[since]


async def test_drift_is_repaired(topo: Topology, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    took: dict[str, float] = {}

    async def drift(what: str, *argv: str) -> dict:
        count = len(run.of("drift_repaired"))
        start = datetime.now().timestamp()
        await topo.srv(*argv)
        event = await _repaired(run, count)
        took[what] = round((datetime.fromisoformat(event["timestamp"]).timestamp() - start) * 1000)
        return event

    event = await drift("vlan deleted", "ip", "link", "del", "vadapt2")
    assert any("CreateVlan" in c and "vadapt2" in c for c in event["changes"])
    assert await addresses(topo, "vadapt2") == {"192.168.2.1/24"}

    event = await drift("address removed", "ip", "addr", "del", "192.168.1.1/24", "dev", "vadapt1")
    assert any("AddAddress" in c for c in event["changes"])
    assert "192.168.1.1/24" in await addresses(topo, "vadapt1")

    event = await drift("member released", "ip", "link", "set", "eth1", "nomaster")
    assert any("Enslave" in c and "eth1" in c for c in event["changes"])
    assert (await link_json(topo, "eth1"))["master"] == "team1"

    event = await drift("bond set down", "ip", "link", "set", "team1", "down")
    assert any("SetUp" in c and "team1" in c for c in event["changes"])

    event = await drift(
        "active changed by hand",
        "ip",
        "link",
        "set",
        "team1",
        "type",
        "bond",
        "active_slave",
        "eth1",
    )
    assert "set by hand" in event["changes"][0]
    with trio.fail_after(5):
        while await active_member(topo) != "eth0":
            await trio.sleep(0.02)
    print("drift repaired after (ms):", json.dumps(took))
    await assert_traffic_on_both_vlans(topo)


async def test_a_member_that_vanishes_and_returns_is_taken_back(topo: Topology, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    await topo.srv("ip", "link", "del", "eth1")  # the peer p1 goes with it
    await run.wait_for("member_health", member="eth1", new="absent")
    await assert_traffic_on_both_vlans(topo)
    await topo.plug("eth1")
    await run.wait_for("member_health", member="eth1", new="up", after=1)  # 1: at start-up
    assert (await link_json(topo, "eth1"))["master"] == "team1"
    await topo.cut_carrier("eth0")
    await run.wait_for("switchover", to_member="eth1")
    await assert_traffic_on_both_vlans(topo)


async def test_losing_every_member_reports_the_team_down_and_it_comes_back(
    topo: Topology, daemon, nursery
):
    run = daemon()
    await run.start(nursery)
    await topo.cut_carrier("eth0")
    await topo.cut_carrier("eth1")
    down = await run.wait_for("team_down")
    assert down["level"] == "error"
    proc = await trio.run_process(run.ctl("state", "--json"), capture_stdout=True)
    assert json.loads(proc.stdout)["teams"]["team1"]["state"] == "down"
    await topo.restore_carrier("eth1")
    await run.wait_for("team_up")
    await assert_traffic_on_both_vlans(topo)


async def test_a_flapping_cable_costs_at_most_two_switchovers(topo: Topology, daemon, nursery):
    run = daemon(SEED_CONFIG.format(preempt="always") + "  [team.damping]\n  half_life_ms = 1000\n")
    await run.start(nursery)
    port = topo.port("eth0")
    start = trio.current_time()
    await topo.sw(
        "sh",
        "-c",
        f"i=0; while [ $i -lt 50 ]; do ip link set {port} down; sleep 0.05;"
        f" ip link set {port} up; sleep 0.05; i=$((i+1)); done",
    )
    flapped_for = trio.current_time() - start
    proc = await trio.run_process(run.ctl("state", "--json"), capture_stdout=True)
    eth0 = json.loads(proc.stdout)["teams"]["team1"]["members"]["eth0"]
    assert eth0["suppressed"] and eth0["flap_penalty"] >= 2000
    proc = await trio.run_process(run.ctl("metrics"), capture_stdout=True)
    assert 'teamd_py_member_flap_penalty{member="eth0",team="team1"}' in proc.stdout.decode()
    back = await run.wait_for("switchover", to_member="eth0", reason="preempt", timeout=60)
    switches = run.of("switchover")
    print(f"flapping for {flapped_for:.1f} s (100 carrier changes): {len(switches)} switchovers")
    assert len(switches) <= 2 and switches[-1] == back
    assert run.of("flap_damping", member="eth0", suppressed=True)
    await assert_traffic_on_both_vlans(topo)


async def test_a_storm_of_unrelated_links_loses_no_member_event(topo: Topology, daemon, nursery):
    text = SEED_CONFIG.format(preempt="always")
    run = daemon(f"[daemon]\nnetlink_buffer_kib = 64\n\n{text}")
    await run.start(nursery)
    assert run.process is not None

    def rss_kib() -> int:
        status = open(f"/proc/{run.process.pid}/status").read()  # noqa: SIM115
        return int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1])

    before = rss_kib()
    count = 600
    batch = "".join(f"link add storm{i} type dummy\n" for i in range(count))
    batch += "".join(f"link del storm{i}\n" for i in range(count))
    script = run.log.parent / "storm.batch"
    script.write_text(batch)
    async with trio.open_nursery() as storm:
        storm.start_soon(topo.srv, "ip", "-batch", str(script))
        await trio.sleep(0.05)
        await topo.cut_carrier("eth0")  # in the middle of the storm
    switch = await run.wait_for("switchover", to_member="eth1")
    # the daemon's own switch, or the kernel's safety net when the storm delayed the daemon
    assert switch["reason"] in ("active_down", "kernel"), switch
    assert run.of("netlink_overflow"), "the storm did not overflow a 64 KiB buffer"
    after = rss_kib()
    print(
        f"storm of {2 * count} link events: overflows {len(run.of('netlink_overflow'))}, "
        f"switched by {switch['reason']}, RSS {before} -> {after} KiB"
    )
    assert after - before < 30_000
    await assert_traffic_on_both_vlans(topo)
    proc = await trio.run_process(run.ctl("state", "--json"), capture_stdout=True)
    members = json.loads(proc.stdout)["teams"]["team1"]["members"]
    assert members["eth0"]["state"] == "failed" and members["eth1"]["state"] == "active"


async def test_a_nic_missing_at_start_is_waited_for(topo: Topology, daemon, nursery):
    await topo.srv("ip", "link", "del", "eth1")
    run = daemon()
    await run.start(nursery)  # runs degraded on eth0 alone
    assert await active_member(topo) == "eth0"
    await assert_traffic_on_both_vlans(topo)
    await topo.plug("eth1")
    await run.wait_for("member_health", member="eth1", new="up")
    assert (await link_json(topo, "eth1"))["master"] == "team1"
