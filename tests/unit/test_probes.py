"""Probe frames and reply validation: only the target's answer to our own probe counts."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import given
from hypothesis import strategies as st

from teamd_py.wire.frames import (
    ETH_P_ARP,
    ETH_P_IPV6,
    EthernetFrame,
    ethernet,
    mac_to_bytes,
    parse_arp,
    parse_ethernet,
    parse_nd,
    unsolicited_na,
)
from teamd_py.wire.probes import ProbeSpec, probe_for

LOGICAL = mac_to_bytes("02:00:00:00:00:01")
OWN = mac_to_bytes("02:00:00:00:00:02")
GW_MAC = mac_to_bytes("02:00:5e:00:fe:01")
GW = IPv4Address("192.168.1.254")
GW6 = IPv6Address("fd00:10::fe")


def arp_reply(
    spa: IPv4Address, tpa: IPv4Address, tha: bytes, vlan: int | None = 10, dst: bytes | None = None
) -> EthernetFrame:
    payload = b"\x00\x01\x08\x00\x06\x04\x00\x02" + GW_MAC + spa.packed + tha + tpa.packed
    frame = parse_ethernet(ethernet(dst or tha, GW_MAC, ETH_P_ARP, payload, vlan=vlan))
    assert frame is not None
    return frame


def test_a_standby_probes_anonymously_and_the_active_as_the_team():
    standby = probe_for(
        GW,
        10,
        active=False,
        logical_mac=LOGICAL,
        own_mac=OWN,
        addresses=[IPv4Address("192.168.1.1")],
    )
    assert standby == ProbeSpec(GW, 10, OWN, IPv4Address("0.0.0.0"))
    frame = parse_ethernet(standby.frame())
    assert frame is not None and frame.src == OWN and frame.vlan == 10
    arp = parse_arp(frame.payload)
    assert arp is not None and arp.op == 1 and arp.sha == OWN and arp.spa == IPv4Address(0)
    active = probe_for(
        GW,
        10,
        active=True,
        logical_mac=LOGICAL,
        own_mac=OWN,
        addresses=[IPv6Address("fd00::1"), IPv4Address("192.168.1.1")],
    )
    assert active == ProbeSpec(GW, 10, LOGICAL, IPv4Address("192.168.1.1"))
    no_v4 = probe_for(GW, None, active=True, logical_mac=LOGICAL, own_mac=OWN, addresses=[])
    assert no_v4.src_ip == IPv4Address(0) and no_v4.src_mac == LOGICAL


def test_a_standby_ns_is_dad_style_without_a_link_layer_option():
    spec = probe_for(GW6, 10, active=False, logical_mac=LOGICAL, own_mac=OWN, addresses=[])
    frame = parse_ethernet(spec.frame())
    assert frame is not None and frame.ethertype == ETH_P_IPV6 and frame.src == OWN
    nd = parse_nd(frame.payload)
    assert nd is not None and nd.type == 135 and nd.src == IPv6Address(0) and nd.lladdr is None


def test_the_targets_arp_answer_counts_and_nothing_else_does():
    spec = ProbeSpec(GW, 10, OWN, IPv4Address(0))
    assert spec.answered_by(arp_reply(GW, IPv4Address(0), OWN))
    assert not spec.answered_by(arp_reply(GW, IPv4Address(0), OWN, vlan=15))  # other VLAN
    assert not spec.answered_by(arp_reply(GW, IPv4Address(0), OWN, vlan=None))  # untagged
    assert not spec.answered_by(arp_reply(IPv4Address("192.168.1.253"), IPv4Address(0), OWN))
    assert not spec.answered_by(arp_reply(GW, IPv4Address("192.168.1.9"), OWN))  # not ours
    assert not spec.answered_by(arp_reply(GW, IPv4Address(0), LOGICAL))  # asked for another MAC
    assert not spec.answered_by(arp_reply(GW, IPv4Address(0), OWN, dst=b"\xff" * 6))
    gratuitous = parse_ethernet(
        ethernet(
            b"\xff" * 6,
            GW_MAC,
            ETH_P_ARP,
            b"\x00\x01\x08\x00\x06\x04\x00\x01" + GW_MAC + GW.packed + b"\x00" * 6 + GW.packed,
            vlan=10,
        )
    )
    assert gratuitous is not None and not spec.answered_by(gratuitous)
    assert not spec.answered_by(parse_ethernet(spec.frame()))  # our own probe, looped back


def test_the_targets_na_counts_for_a_dad_style_probe_only_to_all_nodes():
    spec = ProbeSpec(GW6, 10, OWN, IPv6Address(0))
    na = parse_ethernet(unsolicited_na(GW_MAC, GW6, vlan=10))  # to ff02::1, S clear
    assert na is not None and spec.answered_by(na)
    other = parse_ethernet(unsolicited_na(GW_MAC, IPv6Address("fd00:10::fd"), vlan=10))
    assert other is not None and not spec.answered_by(other)
    wrong_vlan = parse_ethernet(unsolicited_na(GW_MAC, GW6, vlan=15))
    assert wrong_vlan is not None and not spec.answered_by(wrong_vlan)
    active = ProbeSpec(GW6, 10, LOGICAL, IPv6Address("fd00:10::1"))
    assert not active.answered_by(na)  # the active one wants a solicited answer to itself


@given(st.binary(max_size=200), st.sampled_from([None, 10, 15]))
def test_random_frames_never_count(payload: bytes, vlan: int | None):
    specs = [
        ProbeSpec(GW, 10, OWN, IPv4Address(0)),
        ProbeSpec(GW6, 10, OWN, IPv6Address(0)),
        ProbeSpec(GW6, 10, LOGICAL, IPv6Address("fd00:10::1")),
    ]
    for ethertype in (ETH_P_ARP, ETH_P_IPV6):
        frame = parse_ethernet(ethernet(OWN, GW_MAC, ethertype, payload, vlan=vlan))
        if frame is None:
            continue
        for spec in specs:
            assert not spec.answered_by(frame)
