"""Probe sockets on real veths: the kernel runs the filter, replies come back tagged."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address

import pytest
import trio

from teamd_py.sandbox.topology import BRIDGE_MAC, Topology
from teamd_py.wire import frames, probe_socket
from teamd_py.wire.frames import mac_to_bytes, parse_arp, parse_ethernet, parse_nd
from teamd_py.wire.packet_socket import ETH_P_ALL, PACKET_AUXDATA, SOL_PACKET, with_vlan_tag
from teamd_py.wire.probe_socket import ProbeSocket, attach_filter, probe_filter

from .conftest import in_netns, link_json

TEST_MAC = mac_to_bytes("02:00:00:00:00:aa")
UNUSED_IP = IPv4Address("192.168.1.77")
GATEWAY4 = IPv4Address("192.168.1.254")
GATEWAY6 = IPv6Address("fd00:10::fe")
QUIET = 0.3  # how long nothing more arriving counts as "all received"


def probe_frames(mac: bytes) -> list[bytes]:
    """Frames that must pass the filter; none of them draws a reply."""
    return [
        frames.arp_request(mac, IPv4Address("0.0.0.0"), UNUSED_IP),
        frames.arp_request(mac, IPv4Address("0.0.0.0"), UNUSED_IP, vlan=10),
        frames.neighbor_solicitation(mac, IPv6Address("::"), IPv6Address("fd00:10::77"), vlan=10),
        frames.unsolicited_na(mac, IPv6Address("fd00:10::77"), vlan=10),
    ]


def other_frames(mac: bytes) -> list[bytes]:
    """Frames the filter must drop, ARP and ND look-alikes among them."""
    ipv4_udp = bytes.fromhex("4500001c0000000040110000c0a8014dc0a801fe") + bytes.fromhex(
        "0035003500080000"
    )
    src, dst = IPv6Address("fd00:10::77"), GATEWAY6
    echo = bytes.fromhex("8000000000010001")
    ipv6 = (6 << 28).to_bytes(4, "big") + len(echo).to_bytes(2, "big") + bytes([58, 64])
    echo = echo[:2] + frames.icmpv6_checksum(src, dst, echo).to_bytes(2, "big") + echo[4:]
    return [
        frames.ethernet(frames.BROADCAST, mac, frames.ETH_P_IP, ipv4_udp, vlan=10),
        frames.ethernet(frames.BROADCAST, mac, frames.ETH_P_IP, ipv4_udp),
        frames.ethernet(
            mac_to_bytes(BRIDGE_MAC), mac, frames.ETH_P_IPV6, ipv6 + src.packed + dst.packed + echo
        ),
        frames.ethernet(frames.BROADCAST, mac, 0x88B5, b"local experimental", vlan=10),
        frames.ethernet(frames.BROADCAST, mac, 0x88B5, b"local experimental"),
    ]


def raw_sender(topo: Topology) -> trio.socket.SocketType:
    """A plain packet socket in the server namespace that sends on eth0 and receives nothing."""
    with in_netns(topo.server):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    return trio.socket.from_stdlib_socket(sock)


def filtered_tap(topo: Topology, device: str) -> trio.socket.SocketType:
    """The probe filter on a plain socket, which (unlike a probe socket) sees outgoing frames."""
    with in_netns(topo.server):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    attach_filter(sock, probe_filter())
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    sock.bind((device, ETH_P_ALL))
    return trio.socket.from_stdlib_socket(sock)


async def collect(receive) -> list[bytes]:
    """Everything `receive` returns until it has been quiet for a while."""
    got = []
    while True:
        with trio.move_on_after(QUIET):
            got.append(await receive())
            continue
        return got


async def up(topo: Topology, quiet: bool = True) -> bytes:
    """Bring eth0 up (IPv6 off, so it sends nothing of its own) and return its MAC."""
    if quiet:
        await topo.srv("sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1")
    await topo.srv("ip", "link", "set", "eth0", "up")
    return mac_to_bytes((await link_json(topo, "eth0"))["address"])


def from_test_mac(received: list[bytes]) -> list[bytes]:
    return [f for f in received if f[6:12] == TEST_MAC]


def assert_only_arp_and_nd(received: list[bytes]) -> None:
    for frame in received:
        eth = parse_ethernet(frame)
        assert eth is not None, frame.hex()
        if eth.ethertype == frames.ETH_P_ARP:
            continue
        assert eth.ethertype == frames.ETH_P_IPV6, frame.hex()
        assert eth.payload[6] == 58 and eth.payload[40] in (135, 136), frame.hex()


async def test_filter_passes_only_arp_and_nd_with_the_tag_restored(topo):
    with trio.fail_after(10):
        await up(topo)
        with in_netns(topo.switch):
            receiver = ProbeSocket("p0")
        sender = raw_sender(topo)
        tap = filtered_tap(topo, "eth0")
        wanted, unwanted = probe_frames(TEST_MAC), other_frames(TEST_MAC)
        for frame in unwanted[:2] + wanted[:2] + unwanted[2:] + wanted[2:]:
            await sender.sendto(frame, ("eth0", 0))

        received = await collect(receiver.receive)
        # Received frames lost their tag to metadata on the way in; put back, they are the very
        # bytes that were sent.
        assert from_test_mac(received) == wanted
        assert [parse_ethernet(f).vlan for f in from_test_mac(received)] == [None, 10, 10, 10]
        assert_only_arp_and_nd(received)

        async def tapped() -> bytes:
            data, ancdata, _, _ = await tap.recvmsg(2048, socket.CMSG_SPACE(20))
            assert with_vlan_tag(data, ancdata) == data, "an outgoing tag went to metadata"
            return data

        # The outgoing copies still carry the tag in the frame: the filter's other branch.
        assert from_test_mac(await collect(tapped)) == wanted
        for sock in (receiver, sender, tap):
            sock.close()


async def test_gateway_answers_arp_and_dad_probes(topo):
    await topo.sw("sysctl", "-qw", "net.ipv6.conf.br0/10.disable_ipv6=0")
    await topo.sw("ip", "addr", "add", f"{GATEWAY6}/64", "dev", "br0.10", "nodad")
    with trio.fail_after(10):
        mac = await up(topo, quiet=False)
        with in_netns(topo.server):
            probe = ProbeSocket("eth0")

        await probe.send(frames.arp_request(mac, IPv4Address("0.0.0.0"), GATEWAY4, vlan=10))
        with trio.fail_after(2):
            while True:
                eth = parse_ethernet(await probe.receive())
                arp = parse_arp(eth.payload) if eth and eth.ethertype == frames.ETH_P_ARP else None
                if arp is not None and arp.op == frames.ARP_REPLY and arp.spa == GATEWAY4:
                    break
        assert arp.tha == mac and arp.sha == mac_to_bytes(BRIDGE_MAC)
        assert eth.vlan == 10 and eth.dst == mac

        await probe.send(frames.neighbor_solicitation(mac, IPv6Address("::"), GATEWAY6, vlan=10))
        with trio.fail_after(2):
            while True:
                eth = parse_ethernet(await probe.receive())
                nd = parse_nd(eth.payload) if eth and eth.ethertype == frames.ETH_P_IPV6 else None
                if nd is not None and nd.type == frames.ND_NEIGHBOR_ADVERT:
                    break
        assert nd.target == GATEWAY6 and nd.lladdr == mac_to_bytes(BRIDGE_MAC)
        assert eth.vlan == 10 and eth.dst == probe_socket.IPV6_ALL_NODES_MAC  # a DAD answer
        probe.close()


@pytest.mark.parametrize("ignore_outgoing", ["socket option", "packet type"])
async def test_outgoing_frames_are_not_received(topo, monkeypatch, ignore_outgoing):
    if ignore_outgoing == "packet type":
        # As on a kernel without PACKET_IGNORE_OUTGOING: setting it fails, receive() must cope.
        monkeypatch.setattr(probe_socket, "PACKET_IGNORE_OUTGOING", 0x7FFF)
    with trio.fail_after(10):
        await up(topo)
        with in_netns(topo.server):
            sender, bystander = ProbeSocket("eth0"), ProbeSocket("eth0")
        with in_netns(topo.switch):
            witness = ProbeSocket("p0")
        sent = probe_frames(TEST_MAC)
        for frame in sent:
            await sender.send(frame)

        assert from_test_mac(await collect(witness.receive)) == sent  # they did go out
        assert from_test_mac(await collect(sender.receive)) == []
        assert from_test_mac(await collect(bystander.receive)) == []  # nor any other socket's
        for sock in (sender, bystander, witness):
            sock.close()


async def fdb_self(topo: Topology) -> set[str]:
    """The unicast and multicast addresses eth0 accepts, as `bridge fdb` lists them."""
    out = await topo.srv("bridge", "fdb", "show", "dev", "eth0")
    return {line.split()[0] for line in out.splitlines() if "self" in line.split()}


async def link_multicast(topo: Topology) -> dict[str, int]:
    """eth0's link-layer multicast addresses with their reference counts."""
    out = await topo.srv("ip", "maddr", "show", "dev", "eth0")
    groups = {}
    for line in out.splitlines():
        words = line.split()
        if words and words[0] == "link":
            groups[words[1]] = int(words[3]) if words[2:3] == ["users"] else 1
    return groups


async def test_memberships_for_the_permanent_mac(topo):
    with trio.fail_after(10):
        await up(topo)
        own = mac_to_bytes("02:00:00:00:00:42")
        unicast, multicast = await fdb_self(topo), await link_multicast(topo)
        with in_netns(topo.server):
            probe = ProbeSocket("eth0", own_mac=own)
        assert await fdb_self(topo) - unicast == {"02:00:00:00:00:42"}
        all_nodes = "33:33:00:00:00:01"
        assert (await link_multicast(topo)).get(all_nodes, 0) == multicast.get(all_nodes, 0) + 1

        # The gateway answers the permanent MAC, not eth0's current one.
        await probe.send(frames.arp_request(own, IPv4Address("0.0.0.0"), GATEWAY4, vlan=10))
        with trio.fail_after(2):
            while True:
                eth = parse_ethernet(await probe.receive())
                arp = parse_arp(eth.payload) if eth and eth.ethertype == frames.ETH_P_ARP else None
                if arp is not None and arp.op == frames.ARP_REPLY and arp.spa == GATEWAY4:
                    break
        assert eth.dst == own and arp.tha == own and eth.vlan == 10

        probe.close()  # memberships live as long as the socket
        assert (await fdb_self(topo), await link_multicast(topo)) == (unicast, multicast)

        current = mac_to_bytes((await link_json(topo, "eth0"))["address"])
        with in_netns(topo.server):
            ProbeSocket("eth0", own_mac=current).close()  # its current MAC already: no harm


async def test_a_missing_device_is_an_error(topo):
    with in_netns(topo.server), pytest.raises(OSError):
        ProbeSocket("nosuch0")
