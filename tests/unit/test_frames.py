"""Frame builders against hand-computed bytes, parser round trips and strict rejection."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamd_py.wire import frames as f

MAC = bytes.fromhex("020000000001")
PERM = bytes.fromhex("0affee000042")
PEER = bytes.fromhex("02aabbccddee")
V4 = IPv4Address("192.0.2.10")
V6 = IPv6Address("fe80::1")
TARGET6 = IPv6Address("2001:db8::abcd:1234")
VLANS = [None, 0, 1, 100, 4094]


def reference_checksum(src: IPv6Address, dst: IPv6Address, icmp: bytes) -> int:
    """One's-complement sum done as arithmetic modulo 0xFFFF (2**16 == 1 mod 0xFFFF).

    Deliberately unlike word-by-word folding, so the two can check each other.
    """
    data = src.packed + dst.packed + len(icmp).to_bytes(4, "big") + b"\x00\x00\x00\x3a" + icmp
    if len(data) % 2:
        data += b"\x00"
    total = int.from_bytes(data, "big") % 0xFFFF
    if total == 0 and any(data):
        total = 0xFFFF
    return 0xFFFF - total


def ipv6_packet(
    src: IPv6Address,
    dst: IPv6Address,
    icmp: bytes,
    *,
    hop_limit: int = 255,
    next_header: int = 58,
    plen: int | None = None,
    version: int = 6,
) -> bytes:
    """An IPv6 payload around ``icmp`` (checksum field zero) with the reference checksum filled."""
    icmp = icmp[:2] + reference_checksum(src, dst, icmp).to_bytes(2, "big") + icmp[4:]
    length = len(icmp) if plen is None else plen
    header = struct.pack("!IHBB", version << 28, length, next_header, hop_limit)
    return header + src.packed + dst.packed + icmp


def na_body(target: IPv6Address, flags: int = f.ND_FLAG_OVERRIDE, options: bytes = b"") -> bytes:
    return bytes([136, 0, 0, 0, flags, 0, 0, 0]) + target.packed + options


def ns_body(target: IPv6Address, options: bytes = b"") -> bytes:
    return bytes([135, 0, 0, 0, 0, 0, 0, 0]) + target.packed + options


def lladdr_opt(kind: int, mac: bytes) -> bytes:
    return bytes([kind, 1]) + mac


def payload_of(frame: bytes) -> bytes:
    eth = f.parse_ethernet(frame)
    assert eth is not None
    return eth.payload


# --- MAC addresses -------------------------------------------------------------------------------


def test_mac_conversions() -> None:
    assert f.mac_to_bytes("02:00:00:00:00:01") == MAC
    assert f.mac_to_bytes("0A:FF:EE:00:00:42") == PERM
    assert f.mac_to_str(PERM) == "0a:ff:ee:00:00:42"
    assert f.mac_to_bytes(f.mac_to_str(PEER)) == PEER


@pytest.mark.parametrize(
    "text",
    [
        "",
        "02:00:00:00:00",
        "02:00:00:00:00:01:02",
        "02-00-00-00-00-01",
        "020000000001",
        "02:00:00:00:00:1",
        "02:00:00:00:00:001",
        "02:00:00:00:00:0g",
        " 2:00:00:00:00:01",
        "+2:00:00:00:00:01",
        "\u0661\u0661:00:00:00:00:01",
        "02:00:00:00:00:01 ",
    ],
)
def test_mac_to_bytes_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        f.mac_to_bytes(text)


@pytest.mark.parametrize("raw", [b"", b"\x00" * 5, b"\x00" * 7])
def test_mac_to_str_rejects(raw: bytes) -> None:
    with pytest.raises(ValueError):
        f.mac_to_str(raw)


# --- Ethernet and 802.1Q -------------------------------------------------------------------------


def test_ethernet_untagged_pads_to_60() -> None:
    frame = f.ethernet(f.BROADCAST, MAC, f.ETH_P_ARP, b"\xab")
    assert frame == f.BROADCAST + MAC + b"\x08\x06" + b"\xab" + b"\x00" * 45
    assert len(frame) == 60


def test_ethernet_tagged_header() -> None:
    frame = f.ethernet(PEER, MAC, f.ETH_P_IPV6, b"\x01" * 100, vlan=0xABC)
    assert frame[:18] == PEER + MAC + bytes.fromhex("81000abc86dd")
    assert frame[18:] == b"\x01" * 100


def test_ethernet_tagged_short_frame_still_minimum_after_untagging() -> None:
    frame = f.ethernet(PEER, MAC, f.ETH_P_ARP, b"", vlan=7)
    assert len(frame) == 64
    assert len(frame) - 4 >= 60


@pytest.mark.parametrize("vlan", [-1, 4095, 4096])
def test_ethernet_bad_vlan(vlan: int) -> None:
    with pytest.raises(ValueError):
        f.ethernet(PEER, MAC, f.ETH_P_ARP, b"", vlan=vlan)


@pytest.mark.parametrize("ethertype", [0, 1500, 0x05FF, f.ETH_P_8021Q, 0x88A8, 0x10000])
def test_ethernet_bad_ethertype(ethertype: int) -> None:
    with pytest.raises(ValueError):
        f.ethernet(PEER, MAC, ethertype, b"")


@pytest.mark.parametrize("mac", [b"", b"\x00" * 5, b"\x00" * 7])
def test_ethernet_bad_mac(mac: bytes) -> None:
    with pytest.raises(ValueError):
        f.ethernet(mac, MAC, f.ETH_P_ARP, b"")
    with pytest.raises(ValueError):
        f.ethernet(PEER, mac, f.ETH_P_ARP, b"")


@pytest.mark.parametrize("vlan", VLANS)
def test_parse_ethernet_round_trip(vlan: int | None) -> None:
    eth = f.parse_ethernet(f.ethernet(PEER, MAC, 0x1234, b"xyz" * 30, vlan=vlan))
    assert eth == f.EthernetFrame(PEER, MAC, vlan, 0x1234, b"xyz" * 30)


def test_parse_ethernet_ignores_priority_and_dei() -> None:
    frame = PEER + MAC + bytes.fromhex("8100f00a0806") + b"\x00" * 46
    eth = f.parse_ethernet(frame)
    assert eth is not None
    assert (eth.vlan, eth.ethertype) == (10, f.ETH_P_ARP)


def test_parse_ethernet_priority_tagged_is_vlan_0() -> None:
    eth = f.parse_ethernet(PEER + MAC + bytes.fromhex("8100a00086dd") + b"\x00" * 46)
    assert eth is not None
    assert (eth.vlan, eth.ethertype) == (0, f.ETH_P_IPV6)


@pytest.mark.parametrize(
    "header",
    [
        "81000fff0806",  # reserved VID 4095
        "8100000581000006",  # stacked 802.1Q tags
        "810000058100",  # stacked tag, inner truncated
        "88a800050806",  # 802.1ad service tag is not handled
        "8100000588a8",
        "05dc",  # 802.3 length field, not an EtherType
        "810000050040",  # tagged, inner length field
    ],
)
def test_parse_ethernet_rejects_wrong_tags(header: str) -> None:
    assert f.parse_ethernet(PEER + MAC + bytes.fromhex(header) + b"\x00" * 46) is None


def test_parse_ethernet_rejects_group_source() -> None:
    assert f.parse_ethernet(PEER + f.BROADCAST + b"\x08\x06" + b"\x00" * 46) is None
    assert f.parse_ethernet(PEER + b"\x01" + MAC[1:] + b"\x08\x06" + b"\x00" * 46) is None


def test_parse_ethernet_truncated() -> None:
    tagged = f.ethernet(PEER, MAC, f.ETH_P_ARP, b"", vlan=5)
    for n in range(18):
        assert f.parse_ethernet(tagged[:n]) is None
    assert f.parse_ethernet(tagged[:18]) == f.EthernetFrame(PEER, MAC, 5, f.ETH_P_ARP, b"")


# --- ARP -----------------------------------------------------------------------------------------


def test_arp_announcement_known_answer() -> None:
    expected = bytes.fromhex(
        "ffffffffffff"  # broadcast
        "020000000001"  # logical MAC
        "0806"  # ARP
        "0001 0800 06 04"  # Ethernet / IPv4
        "0001"  # request
        "020000000001 c000020a"  # sha, spa 192.0.2.10
        "000000000000 c000020a"  # tha zero, tpa 192.0.2.10
        "000000000000 000000000000 000000000000"  # padding to 60 bytes
    )
    assert f.arp_announcement(MAC, V4) == expected


def test_arp_announcement_tagged_known_answer() -> None:
    frame = f.arp_announcement(MAC, V4, vlan=100)
    assert frame[:18] == f.BROADCAST + MAC + bytes.fromhex("810000640806")
    assert frame[18:46] == f.arp_announcement(MAC, V4)[14:42]
    assert len(frame) == 64


def test_arp_probe_known_answer() -> None:
    frame = f.arp_request(PERM, IPv4Address("0.0.0.0"), IPv4Address("198.51.100.1"))
    assert frame[:14] == f.BROADCAST + PERM + b"\x08\x06"
    assert frame[14:42] == bytes.fromhex(
        "000108000604 0001 0affee000042 00000000 000000000000 c6336401"
    )


def test_arp_request_unicast() -> None:
    frame = f.arp_request(MAC, V4, IPv4Address("192.0.2.1"), vlan=3, dst_mac=PEER)
    eth = f.parse_ethernet(frame)
    assert eth is not None
    assert (eth.dst, eth.src, eth.vlan, eth.ethertype) == (PEER, MAC, 3, f.ETH_P_ARP)
    assert f.parse_arp(eth.payload) == f.ArpPacket(1, MAC, V4, f.ZERO_MAC, IPv4Address("192.0.2.1"))


def test_arp_rejects_ipv6_addresses() -> None:
    with pytest.raises(ValueError):
        f.arp_announcement(MAC, V6)  # type: ignore[arg-type]


@pytest.mark.parametrize("vlan", VLANS)
def test_arp_round_trip(vlan: int | None) -> None:
    eth = f.parse_ethernet(f.arp_announcement(MAC, V4, vlan=vlan))
    assert eth is not None
    assert (eth.dst, eth.src, eth.vlan, eth.ethertype) == (f.BROADCAST, MAC, vlan, f.ETH_P_ARP)
    assert f.parse_arp(eth.payload) == f.ArpPacket(1, MAC, V4, f.ZERO_MAC, V4)


def arp_reply_bytes(
    htype: int = 1, ptype: int = 0x0800, hlen: int = 6, plen: int = 4, op: int = 2
) -> bytes:
    """A reply from PEER (192.0.2.1) to MAC (192.0.2.10), with header fields to corrupt."""
    fixed = struct.pack("!HHBBH", htype, ptype, hlen, plen, op)
    return fixed + PEER + IPv4Address("192.0.2.1").packed + MAC + V4.packed


def test_parse_arp_reply() -> None:
    assert f.parse_arp(arp_reply_bytes()) == f.ArpPacket(2, PEER, IPv4Address("192.0.2.1"), MAC, V4)


@pytest.mark.parametrize(
    "fields",
    [
        {"htype": 6},
        {"ptype": 0x86DD},
        {"hlen": 8},
        {"plen": 16},
        {"op": 0},
        {"op": 3},
        {"op": 0x0100},
    ],
)
def test_parse_arp_rejects_fields(fields: dict[str, int]) -> None:
    assert f.parse_arp(arp_reply_bytes(**fields)) is None


def test_parse_arp_padding_and_garbage() -> None:
    reply = arp_reply_bytes()
    assert f.parse_arp(reply + b"\x5a" * 18) is not None  # padding up to a 60-byte frame
    assert f.parse_arp(reply + b"\x00" * 19) is None
    assert f.parse_arp(reply + b"\x00" * 1000) is None


def test_arp_truncated_at_every_length() -> None:
    frame = f.arp_announcement(MAC, V4, vlan=9)
    for n in range(len(frame)):
        eth = f.parse_ethernet(frame[:n])
        if n < 18:
            assert eth is None
            continue
        assert eth is not None
        parsed = f.parse_arp(eth.payload)
        assert (parsed is None) == (n < 18 + 28)


# --- IPv6 neighbour discovery --------------------------------------------------------------------


def test_na_known_answer() -> None:
    # Checksum by hand: the 16-bit words that are not zero are fe80 0001 (source), ff02 0001
    # (destination), 0020 (length 32), 003a (next header), 8800 (type 136, code 0), 2000 (O),
    # fe80 0001 (target), 0201 0200 0001 (option). Their sum is 0x3a861; folding the carry gives
    # 0xa861 + 3 = 0xa864, whose complement is 0x579b.
    expected = bytes.fromhex(
        "333300000001 020000000001 86dd"  # to all-nodes multicast
        "60000000 0020 3a ff"  # version 6, payload 32, ICMPv6, hop limit 255
        "fe800000000000000000000000000001"  # source fe80::1
        "ff020000000000000000000000000001"  # destination ff02::1
        "88 00 579b"  # NA, code 0, checksum
        "20000000"  # Override only
        "fe800000000000000000000000000001"  # target
        "02 01 020000000001"  # target link-layer address
    )
    assert f.unsolicited_na(MAC, V6) == expected
    blank = na_body(V6, f.ND_FLAG_OVERRIDE, lladdr_opt(2, MAC))
    assert reference_checksum(V6, IPv6Address("ff02::1"), blank) == 0x579B
    assert f.icmpv6_checksum(V6, IPv6Address("ff02::1"), blank) == 0x579B


def test_na_tagged() -> None:
    frame = f.unsolicited_na(MAC, V6, vlan=4094)
    assert frame[12:18] == bytes.fromhex("81000ffe86dd")
    assert frame[18:] == f.unsolicited_na(MAC, V6)[14:]


def test_na_global_address_checksum_matches_reference() -> None:
    ip = IPv6Address("2001:db8:1:2::beef")
    icmp = f.unsolicited_na(PEER, ip)[14 + 40 :]
    blank = icmp[:2] + b"\x00\x00" + icmp[4:]
    all_nodes = IPv6Address("ff02::1")
    assert int.from_bytes(icmp[2:4], "big") == reference_checksum(ip, all_nodes, blank)
    assert f.icmpv6_checksum(ip, all_nodes, blank) == reference_checksum(ip, all_nodes, blank)
    assert f.icmpv6_checksum(ip, all_nodes, icmp) == 0


@pytest.mark.parametrize("ip", ["ff02::1", "::"])
def test_na_rejects_unusable_address(ip: str) -> None:
    with pytest.raises(ValueError):
        f.unsolicited_na(MAC, IPv6Address(ip))


def test_ns_dad_style_known_answer() -> None:
    frame = f.neighbor_solicitation(PERM, IPv6Address("::"), TARGET6)
    group = IPv6Address("ff02::1:ffcd:1234")
    icmp = ns_body(TARGET6)
    checksum = reference_checksum(IPv6Address("::"), group, icmp)
    eth_header = bytes.fromhex("3333ffcd1234") + PERM + b"\x86\xdd"
    ip_header = bytes.fromhex("60000000 0018 3a ff") + bytes(16) + group.packed
    solicitation = b"\x87\x00" + checksum.to_bytes(2, "big") + bytes(4) + TARGET6.packed
    assert frame == eth_header + ip_header + solicitation


def test_ns_with_source_carries_slla() -> None:
    src = IPv6Address("fe80::2")
    frame = f.neighbor_solicitation(MAC, src, TARGET6, vlan=12)
    icmp = frame[18 + 40 :]
    assert len(icmp) == 32
    assert icmp[24:] == b"\x01\x01" + MAC
    blank = icmp[:2] + b"\x00\x00" + icmp[4:]
    assert int.from_bytes(icmp[2:4], "big") == reference_checksum(
        src, IPv6Address("ff02::1:ffcd:1234"), blank
    )


@pytest.mark.parametrize(
    ("ip", "group"),
    [
        ("2001:db8::abcd:1234", "ff02::1:ffcd:1234"),
        ("fe80::1", "ff02::1:ff00:1"),
        ("::", "ff02::1:ff00:0"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff02::1:ffff:ffff"),
    ],
)
def test_solicited_node(ip: str, group: str) -> None:
    assert f.solicited_node(IPv6Address(ip)) == IPv6Address(group)


def test_icmpv6_checksum_odd_length() -> None:
    data = b"\x87\x00\x00\x00\x01\x02\x03"
    assert f.icmpv6_checksum(V6, TARGET6, data) == reference_checksum(V6, TARGET6, data)


@pytest.mark.parametrize("vlan", VLANS)
def test_na_round_trip(vlan: int | None) -> None:
    eth = f.parse_ethernet(f.unsolicited_na(MAC, V6, vlan=vlan))
    assert eth is not None
    assert (eth.dst, eth.src, eth.vlan) == (bytes.fromhex("333300000001"), MAC, vlan)
    assert eth.ethertype == f.ETH_P_IPV6
    assert f.parse_nd(eth.payload) == f.NdPacket(
        V6, IPv6Address("ff02::1"), 255, 136, V6, f.ND_FLAG_OVERRIDE, MAC
    )


@pytest.mark.parametrize("vlan", VLANS)
@pytest.mark.parametrize("src", ["::", "fe80::2", "2001:db8::7"])
def test_ns_round_trip(vlan: int | None, src: str) -> None:
    source = IPv6Address(src)
    eth = f.parse_ethernet(f.neighbor_solicitation(PERM, source, TARGET6, vlan=vlan))
    assert eth is not None
    assert (eth.dst, eth.src, eth.vlan) == (bytes.fromhex("3333ffcd1234"), PERM, vlan)
    lladdr = None if source.is_unspecified else PERM
    assert f.parse_nd(eth.payload) == f.NdPacket(
        source, IPv6Address("ff02::1:ffcd:1234"), 255, 135, TARGET6, 0, lladdr
    )


def test_parse_solicited_na_reply() -> None:
    flags = f.ND_FLAG_ROUTER | f.ND_FLAG_SOLICITED | 0x1F  # reserved bits must be ignored
    packet = ipv6_packet(TARGET6, V6, na_body(TARGET6, flags, lladdr_opt(2, PEER)))
    assert f.parse_nd(packet) == f.NdPacket(
        TARGET6, V6, 255, 136, TARGET6, f.ND_FLAG_ROUTER | f.ND_FLAG_SOLICITED, PEER
    )


def test_parse_nd_skips_unknown_options() -> None:
    options = bytes([14, 1]) + bytes(6) + lladdr_opt(2, PEER) + bytes([200, 2]) + bytes(14)
    packet = ipv6_packet(TARGET6, V6, na_body(TARGET6, f.ND_FLAG_SOLICITED, options))
    parsed = f.parse_nd(packet)
    assert parsed is not None
    assert parsed.lladdr == PEER


def test_parse_nd_na_without_lladdr() -> None:
    packet = ipv6_packet(TARGET6, V6, na_body(TARGET6, f.ND_FLAG_SOLICITED))
    parsed = f.parse_nd(packet)
    assert parsed is not None
    assert parsed.lladdr is None


def test_parse_nd_wrong_kind_of_lladdr_is_ignored() -> None:
    packet = ipv6_packet(TARGET6, V6, na_body(TARGET6, 0, lladdr_opt(1, PEER)))
    parsed = f.parse_nd(packet)
    assert parsed is not None
    assert parsed.lladdr is None


def test_parse_nd_rejects_hop_limit() -> None:
    good = ipv6_packet(TARGET6, V6, na_body(TARGET6, 0))
    assert f.parse_nd(good) is not None
    for hop_limit in (0, 1, 64, 254):
        packet = ipv6_packet(TARGET6, V6, na_body(TARGET6, 0), hop_limit=hop_limit)
        assert f.parse_nd(packet) is None


def test_parse_nd_rejects_bad_checksum() -> None:
    packet = bytearray(payload_of(f.unsolicited_na(MAC, V6)))
    for index in (42, 43, 50, 70):  # checksum bytes, a target byte, an option byte
        damaged = bytearray(packet)
        damaged[index] ^= 0x01
        assert f.parse_nd(bytes(damaged)) is None
    damaged = bytearray(packet)
    damaged[8] ^= 0x80  # source address is covered by the pseudo-header
    assert f.parse_nd(bytes(damaged)) is None


def test_parse_nd_accepts_checksum_negative_zero() -> None:
    """0x0000 and 0xffff are the same one's-complement value; both verify."""
    for low in range(0x10000):
        icmp = na_body(TARGET6, f.ND_FLAG_SOLICITED, bytes([99, 1, 0, 0, 0, 0]) + low.to_bytes(2))
        if reference_checksum(TARGET6, V6, icmp) == 0:
            break
    packet = ipv6_packet(TARGET6, V6, icmp)
    assert packet[42:44] == b"\x00\x00"
    assert f.parse_nd(packet) is not None
    assert f.parse_nd(packet[:42] + b"\xff\xff" + packet[44:]) is not None


@pytest.mark.parametrize(
    "options",
    [
        bytes([2, 0]) + PEER,  # zero length
        bytes([2, 2]) + PEER,  # runs past the end
        bytes([2, 2]) + PEER + bytes(8),  # Ethernet lladdr must be exactly 8 bytes
        bytes([14, 0]) + bytes(6),  # unknown option, zero length
        lladdr_opt(2, PEER) + bytes([14]),  # dangling option type
        lladdr_opt(2, PEER) + bytes([14, 1, 0, 0]),  # partial option
        lladdr_opt(2, PEER) + lladdr_opt(2, MAC),  # duplicate target lladdr
    ],
)
def test_parse_nd_rejects_bad_options(options: bytes) -> None:
    assert f.parse_nd(ipv6_packet(TARGET6, V6, na_body(TARGET6, 0, options))) is None


@pytest.mark.parametrize(
    ("icmp", "kwargs"),
    [
        (na_body(TARGET6, 0)[:1] + b"\x01" + na_body(TARGET6, 0)[2:], {}),  # code 1
        (b"\x86" + na_body(TARGET6, 0)[1:], {}),  # router advertisement
        (b"\x80" + na_body(TARGET6, 0)[1:], {}),  # echo request
        (na_body(TARGET6, 0), {"next_header": 0}),  # hop-by-hop header
        (na_body(TARGET6, 0), {"next_header": 17}),
        (na_body(TARGET6, 0), {"version": 4}),
        (na_body(TARGET6, 0), {"plen": 41}),  # longer than the bytes
        (na_body(TARGET6, 0), {"plen": 20}),  # shorter than an ND message
        (na_body(TARGET6, 0)[:20], {}),  # truncated ICMPv6 with consistent length
        (na_body(IPv6Address("ff02::1"), 0), {}),  # multicast target
    ],
)
def test_parse_nd_rejects_malformed(icmp: bytes, kwargs: dict[str, int]) -> None:
    assert f.parse_nd(ipv6_packet(TARGET6, V6, icmp, **kwargs)) is None


def test_parse_nd_rejects_rfc4861_address_rules() -> None:
    unspecified, group = IPv6Address("::"), IPv6Address("ff02::1:ffcd:1234")
    assert f.parse_nd(ipv6_packet(unspecified, group, ns_body(TARGET6))) is not None
    # DAD probe carrying a source link-layer address
    assert f.parse_nd(ipv6_packet(unspecified, group, ns_body(TARGET6, lladdr_opt(1, MAC)))) is None
    # DAD probe not sent to a solicited-node group
    assert f.parse_nd(ipv6_packet(unspecified, IPv6Address("ff02::1"), ns_body(TARGET6))) is None
    assert f.parse_nd(ipv6_packet(unspecified, TARGET6, ns_body(TARGET6))) is None
    # Solicited NA to a multicast destination
    all_nodes = IPv6Address("ff02::1")
    solicited = na_body(TARGET6, f.ND_FLAG_SOLICITED)
    assert f.parse_nd(ipv6_packet(TARGET6, all_nodes, solicited)) is None
    # NA from the unspecified address, NS from a multicast address
    assert f.parse_nd(ipv6_packet(unspecified, V6, na_body(TARGET6, 0))) is None
    assert f.parse_nd(ipv6_packet(IPv6Address("ff02::2"), group, ns_body(TARGET6))) is None


def test_parse_nd_trailing_bytes() -> None:
    packet = payload_of(f.unsolicited_na(MAC, V6))
    assert f.parse_nd(packet) is not None
    assert f.parse_nd(packet + b"\x00") is None
    assert f.parse_nd(packet + b"\x00" * 1000) is None


@pytest.mark.parametrize("vlan", [None, 42])
def test_nd_truncated_at_every_length(vlan: int | None) -> None:
    frames = [
        f.unsolicited_na(MAC, V6, vlan=vlan),
        f.neighbor_solicitation(PERM, IPv6Address("::"), TARGET6, vlan=vlan),
        f.neighbor_solicitation(MAC, V6, TARGET6, vlan=vlan),
    ]
    header = 14 if vlan is None else 18
    for frame in frames:
        for n in range(len(frame)):
            eth = f.parse_ethernet(frame[:n])
            if n < header:
                assert eth is None
                continue
            assert eth is not None
            assert f.parse_nd(eth.payload) is None
            assert f.parse_arp(eth.payload) is None
        assert f.parse_nd(payload_of(frame)) is not None


# --- Properties ----------------------------------------------------------------------------------


def parse_all(data: bytes) -> None:
    eth = f.parse_ethernet(data)
    f.parse_arp(data)
    f.parse_nd(data)
    if eth is not None:
        f.parse_arp(eth.payload)
        f.parse_nd(eth.payload)


@given(st.binary(max_size=300))
def test_parsers_never_raise(data: bytes) -> None:
    parse_all(data)


@given(
    st.sampled_from(
        [
            f.arp_announcement(MAC, V4, vlan=5),
            f.unsolicited_na(MAC, V6),
            f.neighbor_solicitation(PERM, IPv6Address("::"), TARGET6, vlan=5),
            f.neighbor_solicitation(MAC, V6, TARGET6),
        ]
    ),
    st.lists(st.tuples(st.integers(0, 99), st.integers(0, 255)), max_size=4),
    st.integers(0, 100),
)
def test_parsers_never_raise_on_damaged_frames(
    frame: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    damaged = bytearray(frame)
    for index, value in edits:
        if index < len(damaged):
            damaged[index] = value
    parse_all(bytes(damaged[: len(damaged) - cut]))


macs = st.binary(min_size=6, max_size=6).map(lambda b: bytes([b[0] & 0xFE]) + b[1:])
vlans = st.none() | st.integers(0, 4094)
unicast6 = st.ip_addresses(v=6).filter(lambda a: not a.is_multicast and not a.is_unspecified)


@given(st.ip_addresses(v=6), st.ip_addresses(v=6), st.binary(max_size=200))
def test_checksum_matches_reference(src: IPv6Address, dst: IPv6Address, icmp: bytes) -> None:
    assert f.icmpv6_checksum(src, dst, icmp) == reference_checksum(src, dst, icmp)


def test_checksum_needs_repeated_folding() -> None:
    # Pseudo-header 0x0006 + 0x003a, then ffff ffff ffc1: the sum is 0x2ffff, whose first fold
    # 0xffff + 2 carries again, to 0x0002; the checksum is its complement.
    unspecified = IPv6Address("::")
    icmp = bytes.fromhex("ffff ffff ffc1")
    assert f.icmpv6_checksum(unspecified, unspecified, icmp) == 0xFFFD
    assert reference_checksum(unspecified, unspecified, icmp) == 0xFFFD


@given(macs, st.ip_addresses(v=4), vlans)
def test_arp_round_trip_property(mac: bytes, ip: IPv4Address, vlan: int | None) -> None:
    eth = f.parse_ethernet(f.arp_announcement(mac, ip, vlan=vlan))
    assert eth is not None
    assert eth.vlan == vlan
    assert f.parse_arp(eth.payload) == f.ArpPacket(1, mac, ip, f.ZERO_MAC, ip)


@given(macs, unicast6, vlans)
def test_na_round_trip_property(mac: bytes, ip: IPv6Address, vlan: int | None) -> None:
    eth = f.parse_ethernet(f.unsolicited_na(mac, ip, vlan=vlan))
    assert eth is not None
    assert eth.vlan == vlan
    assert f.parse_nd(eth.payload) == f.NdPacket(
        ip, IPv6Address("ff02::1"), 255, 136, ip, f.ND_FLAG_OVERRIDE, mac
    )


@given(macs, unicast6 | st.just(IPv6Address("::")), unicast6, vlans)
def test_ns_round_trip_property(
    mac: bytes, src: IPv6Address, target: IPv6Address, vlan: int | None
) -> None:
    frame = f.neighbor_solicitation(mac, src, target, vlan=vlan)
    eth = f.parse_ethernet(frame)
    assert eth is not None
    assert eth.dst == b"\x33\x33\xff" + target.packed[13:]
    icmp = eth.payload[40:]
    blank = icmp[:2] + b"\x00\x00" + icmp[4:]
    assert int.from_bytes(icmp[2:4], "big") == reference_checksum(
        src, f.solicited_node(target), blank
    )
    lladdr = None if src.is_unspecified else mac
    assert f.parse_nd(eth.payload) == f.NdPacket(
        src, f.solicited_node(target), 255, 135, target, 0, lladdr
    )
