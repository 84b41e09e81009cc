"""Operating the daemon on the real kernel: state, manual switch, reload, hooks, metrics, stop."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import trio

from teamd_py.sandbox.daemon import DaemonRun
from teamd_py.sandbox.topology import Topology

from .conftest import SEED_CONFIG, active_member, addresses, link_json, steady_flow
from .test_team import GATEWAYS, assert_traffic_on_both_vlans


async def ctl(run: DaemonRun, *args: str) -> tuple[int, str, str]:
    proc = await trio.run_process(
        run.ctl(*args), capture_stdout=True, capture_stderr=True, check=False
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


async def state(run: DaemonRun) -> dict:
    code, out, err = await ctl(run, "state", "--json")
    assert code == 0, err
    return json.loads(out)["teams"]["team1"]


async def test_state_and_a_manual_switch_that_holds_until_auto(topo: Topology, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    team = await state(run)
    assert team["active"] == "eth0" and team["state"] == "up" and team["override"] is None
    assert team["members"]["eth0"]["state"] == "active"
    assert team["members"]["eth1"]["state"] == "standby"
    assert team["mac"] == (await link_json(topo, "team1"))["address"]
    code, out, _ = await ctl(run, "state")
    assert code == 0 and "team1" in out and "eth0" in out

    code, out, err = await ctl(run, "switch", "team1", "eth1")
    assert code == 0, err
    assert await active_member(topo) == "eth1"
    switch = await run.wait_for("switchover", to_member="eth1")
    assert switch["reason"] == "manual"
    team = await state(run)
    assert team["override"] == {"member": "eth1", "forced": False}
    assert team["last_switch"]["to"] == "eth1" and team["switches"] == 1
    await assert_traffic_on_both_vlans(topo)
    await trio.sleep(0.3)
    assert await active_member(topo) == "eth1"  # preempt = always, yet the pin holds

    code, _, err = await ctl(run, "switch", "team1", "--auto")
    assert code == 0, err
    await run.wait_for("switchover", to_member="eth0", reason="preempt")
    assert (await state(run))["override"] is None


async def test_switching_to_an_unhealthy_member_is_refused(topo: Topology, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    await topo.cut_carrier("eth1")
    await run.wait_for("member_health", member="eth1", new="down")
    code, _, err = await ctl(run, "switch", "team1", "eth1")
    assert code == 1 and "eth1 is not healthy" in err and "--force" in err
    code, _, err = await ctl(run, "switch", "team1", "eth1", "--force")
    assert code == 1 and "refused" in err  # the kernel will not activate a NIC without carrier
    assert await active_member(topo) == "eth0"
    code, _, err = await ctl(run, "switch", "team1", "eth9")
    assert code == 1 and "eth9 is not a member of team1" in err


async def test_a_reload_applies_only_the_difference_without_costing_packets(
    topo: Topology, daemon, nursery
):
    run = daemon()
    await run.start(nursery)
    await topo.sw("ip", "link", "add", "link", "br0", "name", "br0.20", "type", "vlan", "id", "20")
    await topo.sw("ip", "addr", "add", "192.168.3.254/24", "dev", "br0.20")
    await topo.sw("ip", "link", "set", "br0.20", "up")
    indexes = {d: (await link_json(topo, d))["ifindex"] for d in ("team1", "vadapt1", "vadapt2")}
    added = run.config.read_text() + (
        '  [[team.vlan]]\n  name = "vadapt3"\n  id = 20\n  addresses = ["192.168.3.1/24"]\n'
    )
    async with steady_flow(topo, "vadapt1", GATEWAYS["vadapt1"], 200) as replies:
        run.config.write_text(added)
        code, _, err = await ctl(run, "reload")
        assert code == 0, err
    assert replies == [200]
    reload = await run.wait_for("reload")
    assert reload["changed"] == ["team1"]
    assert await addresses(topo, "vadapt3") == {"192.168.3.1/24"}
    assert await topo.ping("192.168.3.254", "vadapt3") == 3
    for device, index in indexes.items():
        assert (await link_json(topo, device))["ifindex"] == index  # nothing re-created
    assert not run.of("switchover")

    run.config.write_text(added.replace("id = 20", "id = 5000"))
    code, _, err = await ctl(run, "reload")
    assert code == 1 and "team[0].vlan[2].id: 5000 is not a VLAN id (1-4094)" in err
    assert await addresses(topo, "vadapt3") == {"192.168.3.1/24"}  # the old config stays

    run.config.write_text(added.split('  [[team.vlan]]\n  name = "vadapt3"')[0])
    assert run.process is not None
    run.process.send_signal(signal.SIGHUP)  # the same through SIGHUP
    await run.wait_for("reload", changed=["team1"], timeout=10)
    links = {link["ifname"] for link in json.loads(await topo.srv("ip", "-j", "link"))}
    assert "vadapt3" not in links and "vadapt1" in links
    await assert_traffic_on_both_vlans(topo)


async def test_hooks_metrics_and_events(topo: Topology, daemon, nursery, tmp_path: Path):
    record = tmp_path / "hook.txt"
    script = tmp_path / "hook.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    script.chmod(0o755)
    run = daemon(
        SEED_CONFIG.format(preempt="always")
        + f'  [team.hook]\n  command = "{script}"\n  timeout_ms = 2000\n'
    )
    await run.start(nursery)
    await topo.cut_carrier("eth0")
    await run.wait_for("switchover", to_member="eth1")
    with trio.fail_after(10):
        while "switchover" not in (record.read_text() if record.exists() else ""):
            await trio.sleep(0.05)
    assert "team1 switchover eth0 eth1 active_down" in record.read_text().splitlines()

    code, text, err = await ctl(run, "metrics")
    assert code == 0, err
    assert 'node_bonding_slaves{master="team1"} 2.0' in text
    assert 'node_bonding_active{master="team1"} 1.0' in text
    assert 'teamd_py_switchovers_total{reason="active_down",team="team1"} 1.0' in text
    assert 'teamd_py_member_active{member="eth1",team="team1"} 1.0' in text
    assert 'teamd_py_decision_latency_seconds_count{team="team1"} 1.0' in text

    code, out, err = await ctl(run, "events")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(e["event"] == "switchover" and e["to_member"] == "eth1" for e in events)


async def test_stop_keeps_the_team_forwarding_unless_told_to_tear_down(
    topo: Topology, daemon, nursery
):
    run = daemon()
    await run.start(nursery)
    assert await run.stop() == 0
    assert not run.socket.exists()  # the control socket goes away with the daemon
    await assert_traffic_on_both_vlans(topo)

    text = run.config.read_text().replace("[daemon]\n", "[daemon]\nteardown_on_stop = true\n")
    down = daemon(text)
    await down.start(nursery)
    assert await down.stop() == 0
    links = {link["ifname"] for link in json.loads(await topo.srv("ip", "-j", "link"))}
    assert not links & {"team1", "vadapt1", "vadapt2"}
    assert "master" not in await link_json(topo, "eth0")
