"""One path probe: the frame a member sends, and which frames count as its answer.

Standby safety is decided here. The active member probes as the team does (logical MAC, the real
address of the VLAN it probes through), so what neighbours learn from it is true. A standby must
teach nobody anything: an ARP probe from it carries its own permanent MAC and sender 0.0.0.0 (an
RFC 5227 probe: switches learn only the NIC's own MAC on its own port, neighbours update no
cache), and an IPv6 solicitation from it has the unspecified source and no link-layer option (the
RFC 4862 DAD form), which no neighbour may learn from. The target answers a DAD-style solicitation
with an advertisement to all nodes; the member that receives it on its own port has a working path.

A reply counts only if it is the target's answer to this very probe: same VLAN, from the target's
address, addressed to what the probe asked with. Other ARP and neighbour traffic on the wire (a
gratuitous ARP, someone else's resolution) does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from teamd_py.wire.frames import (
    ARP_REPLY,
    ETH_P_ARP,
    ETH_P_IPV6,
    ND_FLAG_SOLICITED,
    ND_NEIGHBOR_ADVERT,
    EthernetFrame,
    arp_request,
    neighbor_solicitation,
    parse_arp,
    parse_nd,
)

ALL_NODES = IPv6Address("ff02::1")


@dataclass(frozen=True)
class ProbeSpec:
    target: IPv4Address | IPv6Address
    vlan: int | None
    src_mac: bytes
    src_ip: IPv4Address | IPv6Address  # unspecified from a standby

    def frame(self) -> bytes:
        if isinstance(self.target, IPv4Address):
            assert isinstance(self.src_ip, IPv4Address)
            return arp_request(self.src_mac, self.src_ip, self.target, vlan=self.vlan)
        assert isinstance(self.src_ip, IPv6Address)
        return neighbor_solicitation(self.src_mac, self.src_ip, self.target, vlan=self.vlan)

    def answered_by(self, frame: EthernetFrame) -> bool:
        if frame.vlan != self.vlan:
            return False
        if isinstance(self.target, IPv4Address):
            if frame.ethertype != ETH_P_ARP or frame.dst != self.src_mac:
                return False
            arp = parse_arp(frame.payload)
            return (
                arp is not None
                and arp.op == ARP_REPLY
                and arp.spa == self.target
                and arp.tpa == self.src_ip
                and arp.tha == self.src_mac
            )
        if frame.ethertype != ETH_P_IPV6:
            return False
        nd = parse_nd(frame.payload)
        if nd is None or nd.type != ND_NEIGHBOR_ADVERT or nd.target != self.target:
            return False
        if self.src_ip.is_unspecified:  # answer to a DAD-style probe: to all nodes, unsolicited
            return nd.dst == ALL_NODES and not nd.flags & ND_FLAG_SOLICITED
        return (
            nd.dst == self.src_ip
            and bool(nd.flags & ND_FLAG_SOLICITED)
            and (frame.dst == self.src_mac)
        )


def probe_for(
    target: IPv4Address | IPv6Address,
    vlan: int | None,
    active: bool,
    logical_mac: bytes,
    own_mac: bytes,
    addresses: list[IPv4Address | IPv6Address],
) -> ProbeSpec:
    """The probe a member sends: as the team if it is active, anonymously if it is a standby."""
    unspecified = IPv4Address(0) if isinstance(target, IPv4Address) else IPv6Address(0)
    if not active:
        return ProbeSpec(target, vlan, own_mac, unspecified)
    same_family = [a for a in addresses if a.version == target.version]
    return ProbeSpec(target, vlan, logical_mac, same_family[0] if same_family else unspecified)
