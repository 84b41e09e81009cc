"""Ethernet, 802.1Q, ARP and ICMPv6 neighbour discovery frames as plain bytes.

Builders serve failover announcements and path probes; parsers read the replies. Builders raise
``ValueError`` on bad arguments. Parsers never raise: anything truncated, malformed, wrongly
tagged or carrying garbage beyond Ethernet padding yields ``None``, because the bytes come off the
wire and a bad frame is an ordinary event, not a bug.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
BROADCAST = b"\xff" * 6
ZERO_MAC = b"\x00" * 6

ARP_REQUEST = 1
ARP_REPLY = 2
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
ND_OPT_SOURCE_LLADDR = 1
ND_OPT_TARGET_LLADDR = 2
# NA flag bits, as they sit in the first byte of the flags word.
ND_FLAG_ROUTER = 0x80
ND_FLAG_SOLICITED = 0x40
ND_FLAG_OVERRIDE = 0x20

_ETH_HLEN = 14
_VLAN_HLEN = 4
# Minimum payload after the (possibly tagged) header; padding to it keeps a tagged frame at or
# above the 60-byte minimum even after a switch strips the tag.
_MIN_PAYLOAD = 46
_ETHERTYPE_MIN = 0x0600  # smaller values are 802.3 length fields, not EtherTypes
_VID_MAX = 4094  # 4095 is reserved
_ARP_LEN = 28
_IPV6_HLEN = 40
_ICMPV6 = 58
_ND_HOP_LIMIT = 255
_ND_MIN_LEN = 24
_ALL_NODES = IPv6Address("ff02::1")
_SOLICITED_NODE_PREFIX = int(IPv6Address("ff02::1:ff00:0"))
_HEX = frozenset("0123456789abcdefABCDEF")

_ARP = struct.Struct("!HHBBH6s4s6s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_ICMP_ND = struct.Struct("!BBHI16s")


def mac_to_bytes(mac: str) -> bytes:
    """Parse the colon form ``aa:bb:cc:dd:ee:ff``; anything else is a ``ValueError``."""
    parts = mac.split(":")
    if len(parts) != 6 or any(len(p) != 2 or not _HEX.issuperset(p) for p in parts):
        raise ValueError(f"not a MAC address: {mac!r}")
    return bytes(int(p, 16) for p in parts)


def mac_to_str(mac: bytes) -> str:
    """Lowercase colon form, the way the kernel prints it."""
    return ":".join(f"{b:02x}" for b in _mac(mac))


def _mac(mac: bytes) -> bytes:
    if not isinstance(mac, bytes | bytearray) or len(mac) != 6:
        raise ValueError(f"a MAC address is 6 bytes, got {mac!r}")
    return bytes(mac)


def _ipv6(ip: IPv6Address) -> IPv6Address:
    if not isinstance(ip, IPv6Address):
        raise ValueError(f"not an IPv6 address: {ip!r}")
    return ip


def ethernet(
    dst: bytes, src: bytes, ethertype: int, payload: bytes, vlan: int | None = None
) -> bytes:
    """Frame ``payload``, 802.1Q-tagged (PCP 0, DEI 0) when ``vlan`` is given, zero-padded."""
    if not _ETHERTYPE_MIN <= ethertype <= 0xFFFF or ethertype in (ETH_P_8021Q, ETH_P_8021AD):
        raise ValueError(f"bad EtherType {ethertype:#x}")
    header = _mac(dst) + _mac(src)
    if vlan is not None:
        if not 0 <= vlan <= _VID_MAX:
            raise ValueError(f"VLAN id out of range: {vlan}")
        header += struct.pack("!HH", ETH_P_8021Q, vlan)
    return header + struct.pack("!H", ethertype) + payload.ljust(_MIN_PAYLOAD, b"\x00")


def _arp(op: int, sha: bytes, spa: IPv4Address, tha: bytes, tpa: IPv4Address) -> bytes:
    if not isinstance(spa, IPv4Address) or not isinstance(tpa, IPv4Address):
        raise ValueError("ARP carries IPv4 addresses")
    return _ARP.pack(1, ETH_P_IP, 6, 4, op, _mac(sha), spa.packed, _mac(tha), tpa.packed)


def arp_announcement(mac: bytes, ip: IPv4Address, vlan: int | None = None) -> bytes:
    """Gratuitous ARP request (RFC 5227 announcement) so neighbours move ``ip`` to ``mac``."""
    return ethernet(BROADCAST, mac, ETH_P_ARP, _arp(ARP_REQUEST, mac, ip, ZERO_MAC, ip), vlan)


def arp_request(
    src_mac: bytes,
    src_ip: IPv4Address,
    target_ip: IPv4Address,
    vlan: int | None = None,
    dst_mac: bytes = BROADCAST,
) -> bytes:
    """ARP request for ``target_ip``; ``src_ip`` 0.0.0.0 makes it an RFC 5227 probe."""
    payload = _arp(ARP_REQUEST, src_mac, src_ip, ZERO_MAC, target_ip)
    return ethernet(dst_mac, src_mac, ETH_P_ARP, payload, vlan)


def solicited_node(ip: IPv6Address) -> IPv6Address:
    """The solicited-node multicast group ``ff02::1:ffXX:XXXX`` that ``ip``'s owner listens to."""
    return IPv6Address(_SOLICITED_NODE_PREFIX | (int(_ipv6(ip)) & 0xFFFFFF))


def _ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(w for (w,) in struct.iter_unpack("!H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def icmpv6_checksum(src: IPv6Address, dst: IPv6Address, icmp: bytes) -> int:
    """Checksum over the RFC 2460 pseudo-header and ``icmp`` (its checksum field zeroed).

    Over a message with a correct checksum in place the result is 0, which is how parsing checks.
    """
    pseudo = _ipv6(src).packed + _ipv6(dst).packed + struct.pack("!I3xB", len(icmp), _ICMPV6)
    return ~_ones_sum(pseudo + icmp) & 0xFFFF


def _nd_frame(
    src_mac: bytes, src: IPv6Address, dst: IPv6Address, body: bytes, vlan: int | None
) -> bytes:
    """Wrap an ICMPv6 message (checksum field zero) in IPv6 and Ethernet, filling the checksum."""
    checksum = icmpv6_checksum(src, dst, body)
    icmp = body[:2] + struct.pack("!H", checksum) + body[4:]
    ip = _IPV6.pack(6 << 28, len(icmp), _ICMPV6, _ND_HOP_LIMIT, src.packed, dst.packed) + icmp
    return ethernet(b"\x33\x33" + dst.packed[12:], src_mac, ETH_P_IPV6, ip, vlan)


def unsolicited_na(mac: bytes, ip: IPv6Address, vlan: int | None = None) -> bytes:
    """Unsolicited NA to all nodes with Override set, so caches switch ``ip`` to ``mac`` at once."""
    if _ipv6(ip).is_multicast or ip.is_unspecified:
        raise ValueError(f"cannot advertise {ip}")
    body = _ICMP_ND.pack(ND_NEIGHBOR_ADVERT, 0, 0, ND_FLAG_OVERRIDE << 24, ip.packed)
    body += struct.pack("!BB", ND_OPT_TARGET_LLADDR, 1) + _mac(mac)
    return _nd_frame(mac, ip, _ALL_NODES, body, vlan)


def neighbor_solicitation(
    src_mac: bytes, src_ip: IPv6Address, target: IPv6Address, vlan: int | None = None
) -> bytes:
    """NS for ``target``; from ``::`` it is DAD-style and carries no source link-layer option."""
    if _ipv6(target).is_multicast or _ipv6(src_ip).is_multicast:
        raise ValueError("neither the source nor the target of an NS may be multicast")
    body = _ICMP_ND.pack(ND_NEIGHBOR_SOLICIT, 0, 0, 0, target.packed)
    if not src_ip.is_unspecified:
        body += struct.pack("!BB", ND_OPT_SOURCE_LLADDR, 1) + _mac(src_mac)
    return _nd_frame(src_mac, src_ip, solicited_node(target), body, vlan)


@dataclass(frozen=True)
class EthernetFrame:
    dst: bytes
    src: bytes
    vlan: int | None  # 802.1Q VID; 0 for a priority-tagged frame, None when untagged
    ethertype: int
    payload: bytes  # includes any Ethernet padding


@dataclass(frozen=True)
class ArpPacket:
    op: int
    sha: bytes
    spa: IPv4Address
    tha: bytes
    tpa: IPv4Address


@dataclass(frozen=True)
class NdPacket:
    src: IPv6Address
    dst: IPv6Address
    hop_limit: int
    type: int  # ND_NEIGHBOR_SOLICIT or ND_NEIGHBOR_ADVERT
    target: IPv6Address
    flags: int  # ND_FLAG_* bits of an NA; 0 for an NS
    lladdr: bytes | None  # source (NS) or target (NA) link-layer address option


def _only_padding(used: int, total: int) -> bool:
    """Trailing bytes are fine only if they can be Ethernet padding; more is garbage."""
    return used == total or (used < total <= _MIN_PAYLOAD)


def parse_ethernet(frame: bytes) -> EthernetFrame | None:
    """Split off the Ethernet header and at most one 802.1Q tag."""
    if len(frame) < _ETH_HLEN:
        return None
    dst, src, (ethertype,) = frame[:6], frame[6:12], struct.unpack_from("!H", frame, 12)
    vlan, offset = None, _ETH_HLEN
    if ethertype == ETH_P_8021Q:
        if len(frame) < _ETH_HLEN + _VLAN_HLEN:
            return None
        tci, ethertype = struct.unpack_from("!HH", frame, 14)
        vlan, offset = tci & 0x0FFF, _ETH_HLEN + _VLAN_HLEN
        if vlan > _VID_MAX:
            return None
    if ethertype < _ETHERTYPE_MIN or ethertype in (ETH_P_8021Q, ETH_P_8021AD):
        return None
    if src[0] & 1:  # a source address with the group bit set is never valid
        return None
    return EthernetFrame(bytes(dst), bytes(src), vlan, ethertype, bytes(frame[offset:]))


def parse_arp(payload: bytes) -> ArpPacket | None:
    """Ethernet/IPv4 ARP request or reply; tolerates Ethernet padding, nothing more."""
    if len(payload) < _ARP_LEN or not _only_padding(_ARP_LEN, len(payload)):
        return None
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(payload)
    if (htype, ptype, hlen, plen) != (1, ETH_P_IP, 6, 4) or op not in (ARP_REQUEST, ARP_REPLY):
        return None
    return ArpPacket(op, sha, IPv4Address(spa), tha, IPv4Address(tpa))


def _lladdr(options: bytes, wanted: int) -> tuple[bool, bytes | None]:
    """Walk ND options; returns (valid, lladdr of kind ``wanted``). Unknown options are skipped."""
    lladdr, offset = None, 0
    while offset < len(options):
        if len(options) - offset < 2:
            return False, None
        kind, units = options[offset], options[offset + 1]
        end = offset + 8 * units
        if units == 0 or end > len(options):
            return False, None
        if kind in (ND_OPT_SOURCE_LLADDR, ND_OPT_TARGET_LLADDR) and units != 1:
            return False, None  # on Ethernet a link-layer address option is exactly 8 bytes
        if kind == wanted:
            if lladdr is not None:
                return False, None
            lladdr = bytes(options[offset + 2 : end])
        offset = end
    return True, lladdr


def parse_nd(payload: bytes) -> NdPacket | None:
    """IPv6 + ICMPv6 NS/NA, checked as RFC 4861 section 7.1 asks a receiver to."""
    if len(payload) < _IPV6_HLEN:
        return None
    vtf, plen, next_header, hop_limit, src_b, dst_b = _IPV6.unpack_from(payload)
    end = _IPV6_HLEN + plen
    if vtf >> 28 != 6 or next_header != _ICMPV6 or hop_limit != _ND_HOP_LIMIT:
        return None
    if plen < _ND_MIN_LEN or end > len(payload) or not _only_padding(end, len(payload)):
        return None
    src, dst, icmp = IPv6Address(src_b), IPv6Address(dst_b), bytes(payload[_IPV6_HLEN:end])
    kind, code, _, word, target_b = _ICMP_ND.unpack_from(icmp)
    target = IPv6Address(target_b)
    if kind not in (ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT) or code != 0:
        return None
    if icmpv6_checksum(src, dst, icmp) != 0 or src.is_multicast or target.is_multicast:
        return None
    wanted = ND_OPT_SOURCE_LLADDR if kind == ND_NEIGHBOR_SOLICIT else ND_OPT_TARGET_LLADDR
    valid, lladdr = _lladdr(icmp[_ND_MIN_LEN:], wanted)
    if not valid:
        return None
    if kind == ND_NEIGHBOR_SOLICIT:
        flags, to_solicited_node = 0, int(dst) >> 24 == _SOLICITED_NODE_PREFIX >> 24
        if src.is_unspecified and (not to_solicited_node or lladdr is not None):
            return None
    else:
        flags = (word >> 24) & (ND_FLAG_ROUTER | ND_FLAG_SOLICITED | ND_FLAG_OVERRIDE)
        if src.is_unspecified or (dst.is_multicast and flags & ND_FLAG_SOLICITED):
            return None
    return NdPacket(src, dst, hop_limit, kind, target, flags, lladdr)
