"""What the daemon reads of a kernel link, decoded once from an RTM_NEWLINK message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000

BOND_MODE_ACTIVEBACKUP = 1


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str | None  # "bond", "vlan", "veth", ... or None for a plain NIC
    mac: str | None
    admin_up: bool
    carrier: bool  # IFF_LOWER_UP: administratively up and carrier on
    master: int | None
    link: int | None  # the parent of a VLAN
    vlan_id: int | None = None
    slave_kind: str | None = None
    perm_mac: str | None = None  # a bond slave's own MAC (its current one is the bond's)
    bond_mode: int | None = None
    bond_active: int | None = None
    bond_miimon: int | None = None
    bond_updelay: int | None = None
    bond_downdelay: int | None = None
    bond_arp_interval: int | None = None
    bond_fail_over_mac: int | None = None


def _nested(attr: Any, name: str) -> Any:
    if attr is None:
        return None
    return attr.get_attr(name)


def parse_link(msg: Any) -> Link:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = _nested(info, "IFLA_INFO_KIND")
    data = _nested(info, "IFLA_INFO_DATA")
    slave_kind = _nested(info, "IFLA_INFO_SLAVE_KIND")
    slave_data = _nested(info, "IFLA_INFO_SLAVE_DATA")
    flags = msg["flags"]
    master = msg.get_attr("IFLA_MASTER")
    parent = msg.get_attr("IFLA_LINK")
    bond: dict[str, Any] = {}
    vlan_id = None
    if kind == "bond" and data is not None:
        active = data.get_attr("IFLA_BOND_ACTIVE_SLAVE")
        bond = {
            "bond_mode": data.get_attr("IFLA_BOND_MODE"),
            "bond_active": active or None,
            "bond_miimon": data.get_attr("IFLA_BOND_MIIMON"),
            "bond_updelay": data.get_attr("IFLA_BOND_UPDELAY"),
            "bond_downdelay": data.get_attr("IFLA_BOND_DOWNDELAY"),
            "bond_arp_interval": data.get_attr("IFLA_BOND_ARP_INTERVAL"),
            "bond_fail_over_mac": data.get_attr("IFLA_BOND_FAIL_OVER_MAC"),
        }
    elif kind == "vlan" and data is not None:
        vlan_id = data.get_attr("IFLA_VLAN_ID")
    perm = None
    if slave_kind == "bond" and slave_data is not None:
        perm = slave_data.get_attr("IFLA_BOND_SLAVE_PERM_HWADDR")
    if perm is None:
        perm = msg.get_attr("IFLA_PERM_ADDRESS")
    return Link(
        index=msg["index"],
        name=msg.get_attr("IFLA_IFNAME"),
        kind=kind,
        mac=msg.get_attr("IFLA_ADDRESS"),
        admin_up=bool(flags & IFF_UP),
        carrier=bool(flags & IFF_LOWER_UP),
        master=master or None,
        link=parent if parent and parent != msg["index"] else None,
        vlan_id=vlan_id,
        slave_kind=slave_kind,
        perm_mac=perm,
        **bond,
    )
