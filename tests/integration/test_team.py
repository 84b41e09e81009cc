"""The seed's AFT team on the real bonding and 802.1Q drivers: build, fail over, adopt."""

from __future__ import annotations

import json
import select
import socket

import trio

from teamd_py.sandbox.topology import Topology
from teamd_py.wire.frames import (
    ETH_P_ARP,
    ETH_P_IPV6,
    mac_to_bytes,
    parse_arp,
    parse_ethernet,
    parse_nd,
)
from teamd_py.wire.packet_socket import recv_frame

from .conftest import active_member, addresses, capture, link_json, steady_flow

GATEWAYS = {"vadapt1": "192.168.1.254", "vadapt2": "192.168.2.254"}


async def assert_traffic_on_both_vlans(topo: Topology) -> None:
    for device, gateway in GATEWAYS.items():
        received = await topo.ping(gateway, device, count=3)
        assert received == 3, f"{device}: {received}/3 replies from {gateway}"


async def test_builds_the_seed_team_and_carries_both_vlans(topo, daemon, nursery):
    run = daemon()
    await run.start(nursery)

    bond = await link_json(topo, "team1")
    data = bond["linkinfo"]["info_data"]
    assert bond["linkinfo"]["info_kind"] == "bond"
    assert data["mode"] == "active-backup"
    assert data["miimon"] == 100 and data["arp_interval"] == 0  # carrier safety net only
    assert data["active_slave"] == "eth0"  # the primary
    for member in ("eth0", "eth1"):
        assert (await link_json(topo, member))["master"] == "team1"
    for name, vid in (("vadapt1", 10), ("vadapt2", 15)):
        vlan = await link_json(topo, name)
        assert vlan["linkinfo"]["info_kind"] == "vlan"
        assert vlan["linkinfo"]["info_data"]["id"] == vid
        assert vlan["link"] == "team1"
        assert vlan["address"] == bond["address"]
    assert await addresses(topo, "vadapt1") == {"192.168.1.1/24", "fd00:10::1/64"}
    assert await addresses(topo, "vadapt2") == {"192.168.2.1/24"}
    await assert_traffic_on_both_vlans(topo)
    assert run.of("team_configured", team="team1")
    assert not run.of("switchover")  # the primary was enslaved first: no switch at start-up
    assert await run.stop() == 0
    assert (await link_json(topo, "team1"))["operstate"] == "UP"  # stopping leaves it forwarding


def _frames(sock: socket.socket) -> list[bytes]:
    out = []
    while select.select([sock], [], [], 0)[0]:
        out.append(recv_frame(sock))
    return out


async def test_carrier_loss_fails_over_keeping_mac_addresses_and_vlans(topo, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    await assert_traffic_on_both_vlans(topo)
    before = {d: await link_json(topo, d) for d in ("team1", "vadapt1", "vadapt2")}
    mac = before["team1"]["address"]
    wire = capture(topo, topo.port("eth1"))

    await topo.cut_carrier("eth0")
    switch = await run.wait_for("switchover", to_member="eth1")
    assert switch["from_member"] == "eth0" and switch["reason"] == "active_down"
    assert switch["team"] == "team1" and switch["decision_ms"] >= 0
    print("decision_ms carrier failover:", switch["decision_ms"])
    assert await active_member(topo) == "eth1"

    await trio.sleep(0.5)  # the three announcements, 50 ms apart
    frames = [f for f in map(parse_ethernet, _frames(wire)) if f is not None]
    wire.close()
    garps = {
        (f.vlan, str(a.spa))
        for f in frames
        if f.ethertype == ETH_P_ARP
        and (a := parse_arp(f.payload)) is not None
        and a.op == 1
        and a.spa == a.tpa
        and a.sha == mac_to_bytes(mac)
    }
    assert {(10, "192.168.1.1"), (15, "192.168.2.1")} <= garps
    vlan10 = sum(
        1
        for f in frames
        if f.vlan == 10
        and f.ethertype == ETH_P_ARP
        and (a := parse_arp(f.payload)) is not None
        and str(a.spa) == "192.168.1.1"
    )
    assert vlan10 >= 3, f"{vlan10} announcements of 192.168.1.1 on VLAN 10, the daemon sends 3"
    nas = [
        nd
        for f in frames
        if f.vlan == 10
        and f.ethertype == ETH_P_IPV6
        and (nd := parse_nd(f.payload)) is not None
        and nd.type == 136
    ]
    assert any(str(nd.target) == "fd00:10::1" and nd.lladdr == mac_to_bytes(mac) for nd in nas)

    for device, info in before.items():
        now = await link_json(topo, device)
        assert now["address"] == mac, f"{device} changed its MAC"
        assert now["ifindex"] == info["ifindex"], f"{device} was re-created"
    assert await addresses(topo, "vadapt1") == {"192.168.1.1/24", "fd00:10::1/64"}
    assert await addresses(topo, "vadapt2") == {"192.168.2.1/24"}
    await assert_traffic_on_both_vlans(topo)
    neigh = json.loads(await topo.sw("ip", "-j", "neigh", "show", "192.168.1.1"))
    assert {n["lladdr"] for n in neigh} == {mac}


async def test_failback_follows_preempt_always(topo, daemon, nursery):
    run = daemon(preempt="always")
    await run.start(nursery)
    await topo.cut_carrier("eth0")
    await run.wait_for("switchover", to_member="eth1")
    await topo.restore_carrier("eth0")
    back = await run.wait_for("switchover", to_member="eth0")
    assert back["reason"] == "preempt" and back["from_member"] == "eth1"
    assert await active_member(topo) == "eth0"
    await assert_traffic_on_both_vlans(topo)


async def test_preempt_never_stays_on_the_healthy_backup(topo, daemon, nursery):
    run = daemon(preempt="never")
    await run.start(nursery)
    await topo.cut_carrier("eth0")
    await run.wait_for("switchover", to_member="eth1")
    await topo.restore_carrier("eth0")
    await run.wait_for("member_health", member="eth0", new="up")
    await trio.sleep(0.5)  # room for a wrong switch to show up
    assert await active_member(topo) == "eth1"
    assert len(run.of("switchover")) == 1
    await assert_traffic_on_both_vlans(topo)


async def test_restart_adopts_the_team_without_disturbing_traffic(topo, daemon, nursery):
    run = daemon()
    await run.start(nursery)
    assert await run.stop() == 0
    indexes = {
        d: (await link_json(topo, d))["ifindex"]
        for d in ("team1", "eth0", "eth1", "vadapt1", "vadapt2")
    }

    async with steady_flow(topo, "vadapt1", GATEWAYS["vadapt1"], 300) as replies:
        again = daemon()
        await again.start(nursery)
        adopted = await again.wait_for("team_adopted", team="team1")
        assert adopted["changes"] == 0
    assert replies == [300]
    assert not again.of("kernel_change") and not again.of("switchover")
    for device, index in indexes.items():
        assert (await link_json(topo, device))["ifindex"] == index
    assert await active_member(topo) == "eth0"


async def test_adopts_a_hand_made_bond_and_sets_its_monitoring(topo, daemon, nursery):
    await topo.srv(
        "ip",
        "link",
        "add",
        "team1",
        "type",
        "bond",
        "mode",
        "active-backup",
        "arp_interval",
        "1000",
        "arp_ip_target",
        "192.168.1.254",
    )
    for member in ("eth0", "eth1"):
        await topo.srv("ip", "link", "set", member, "master", "team1")
    await topo.srv("ip", "link", "set", "team1", "up")
    index = (await link_json(topo, "team1"))["ifindex"]
    run = daemon()
    await run.start(nursery)
    data = (await link_json(topo, "team1"))["linkinfo"]["info_data"]
    assert data["arp_interval"] == 0 and data["miimon"] == 100  # ARP is the daemon's job
    assert (await link_json(topo, "team1"))["ifindex"] == index
    steps = {e["step"] for e in run.of("kernel_change")}
    assert steps == {"SetBondMonitoring", "CreateVlan", "SetUp", "AddAddress"}
    await assert_traffic_on_both_vlans(topo)


async def test_invalid_config_changes_nothing(topo, daemon, nursery):
    run = daemon(
        config='[[team]]\nname = "team1"\n[[team.member]]\nname = "eth0"\n'
        '[[team.vlan]]\nname = "v"\nid = 5000\n'
    )
    await run.start(nursery, wait_ready=False)
    assert await run.exit_code() == 2
    assert "team[0].vlan[0].id: 5000 is not a VLAN id (1-4094)" in run.log.read_text()
    links = json.loads(await topo.srv("ip", "-j", "link", "show"))
    assert "team1" not in {link["ifname"] for link in links}


async def test_conflict_refuses_before_touching_the_kernel(topo, daemon, nursery):
    await topo.srv("ip", "addr", "add", "198.18.0.1/24", "dev", "eth1")
    run = daemon()
    await run.start(nursery, wait_ready=False)
    assert await run.exit_code() == 1
    assert "eth1 carries addresses 198.18.0.1/24" in run.log.read_text()
    links = {link["ifname"]: link for link in json.loads(await topo.srv("ip", "-j", "link"))}
    assert "team1" not in links
    assert "master" not in links["eth0"]
