"""The kernel backend: reads links and addresses, applies planned steps, switches the active slave.

Applying is all-or-nothing: each step that creates something registers how to undo it, and a
failure part-way undoes those in reverse before the error goes up, so a team that cannot be built
leaves the kernel as it found it.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Interface, IPv6Interface, ip_interface
from typing import Any

import structlog
import trio
from pyroute2.netlink.rtnl import (
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from teamd_py.kernel.links import BOND_MODE_ACTIVEBACKUP, IFF_UP, Link, parse_link
from teamd_py.kernel.netlink import DumpSocket, NetlinkError, NetlinkSocket, attrs
from teamd_py.kernel.plan import (
    AddAddress,
    Address,
    CreateBond,
    CreateVlan,
    DeleteLink,
    Enslave,
    Release,
    RemoveAddress,
    SetBondMonitoring,
    SetMac,
    SetUp,
    Step,
)

log = structlog.get_logger()

Undo = Callable[[], Awaitable[object]]
UNDO_TIMEOUT = 10.0


def link_msg(index: int | None = None, **fields: Any) -> ifinfmsg:
    msg = ifinfmsg()
    msg["family"] = socket.AF_UNSPEC
    msg["index"] = index or 0
    for key, value in fields.items():
        msg[key] = value
    return msg


def _linkinfo(kind: str, data: list[list[Any]]) -> list[Any]:
    return [
        "IFLA_LINKINFO",
        {"attrs": [["IFLA_INFO_KIND", kind], ["IFLA_INFO_DATA", {"attrs": data}]]},
    ]


class BondBackend:
    """Netlink operations on bonds, their slaves, VLANs and addresses."""

    def __init__(self, nl: NetlinkSocket, dumps: DumpSocket) -> None:
        self.nl = nl
        self.dumps = dumps

    # -- reading ----------------------------------------------------------------------------------

    async def links(self) -> dict[str, Link]:
        msgs = await self.dumps.dump(link_msg(), RTM_GETLINK, "dump links")
        parsed = (parse_link(m) for m in msgs)
        return {link.name: link for link in parsed}

    async def addresses(self) -> dict[int, set[Address]]:
        msg = ifaddrmsg()
        msg["family"] = socket.AF_UNSPEC
        out: dict[int, set[Address]] = {}
        for reply in await self.dumps.dump(msg, RTM_GETADDR, "dump addresses"):
            local = reply.get_attr("IFA_LOCAL") or reply.get_attr("IFA_ADDRESS")
            if local is None:
                continue
            out.setdefault(reply["index"], set()).add(ip_interface(f"{local}/{reply['prefixlen']}"))
        return out

    # -- changing ---------------------------------------------------------------------------------

    async def apply(self, steps: list[Step]) -> None:
        undo: list[Undo] = []
        try:
            for step in steps:
                await self._apply(step, undo)
        except BaseException:
            # shielded: a cancelled start-up must still leave the kernel as it found it
            with trio.CancelScope(shield=True), trio.move_on_after(UNDO_TIMEOUT):
                for action in reversed(undo):
                    try:
                        await action()
                    except NetlinkError as exc:
                        log.error("undo_failed", error=str(exc))
            raise

    async def _index(self, name: str) -> int:
        reply = await self.dumps.get(
            link_msg(attrs=[["IFLA_IFNAME", name]]), RTM_GETLINK, f"look up {name}"
        )
        return reply["index"]

    async def _apply(self, step: Step, undo: list[Undo]) -> None:
        log.info("kernel_change", step=type(step).__name__, **vars(step))
        if isinstance(step, DeleteLink | RemoveAddress | Release):
            await self._remove(step)
            return
        match step:
            case CreateBond(name=name, mac=mac, miimon=miimon, updelay=up, downdelay=down):
                data = [
                    ["IFLA_BOND_MODE", BOND_MODE_ACTIVEBACKUP],
                    ["IFLA_BOND_MIIMON", miimon],
                    ["IFLA_BOND_UPDELAY", up],
                    ["IFLA_BOND_DOWNDELAY", down],
                ]
                fields = [["IFLA_IFNAME", name], _linkinfo("bond", data)]
                if mac is not None:
                    fields.append(["IFLA_ADDRESS", mac])
                await self.nl.request(
                    link_msg(attrs=fields), RTM_NEWLINK, f"create bond {name}", create=True
                )
                undo.append(lambda: self.delete_link(name))
            case SetBondMonitoring(name=name, miimon=miimon, updelay=up, downdelay=down):
                data = [
                    ["IFLA_BOND_ARP_INTERVAL", 0],
                    ["IFLA_BOND_MIIMON", miimon],
                    ["IFLA_BOND_UPDELAY", up],
                    ["IFLA_BOND_DOWNDELAY", down],
                ]
                index = await self._index(name)
                await self.nl.request(
                    link_msg(index, attrs=[_linkinfo("bond", data)]),
                    RTM_NEWLINK,
                    f"set the kernel's carrier check on {name}",
                )
            case SetMac(name=name, mac=mac):
                index = await self._index(name)
                await self.nl.request(
                    link_msg(index, attrs=[["IFLA_ADDRESS", mac]]),
                    RTM_NEWLINK,
                    f"set MAC of {name}",
                )
            case Enslave(name=name, bond=bond, was_up=was_up):
                index, bond_index = await self._index(name), await self._index(bond)
                await self.set_admin(index, up=False, what=f"take {name} down to enslave it")
                if was_up:
                    undo.append(lambda: self.set_admin(index, up=True, what=f"restore {name}"))
                await self.nl.request(
                    link_msg(index, attrs=[["IFLA_MASTER", bond_index]]),
                    RTM_NEWLINK,
                    f"enslave {name} to {bond}",
                )
                undo.append(lambda: self._release(index))
                await self.set_admin(index, up=True, what=f"bring {name} up")
            case SetUp(name=name):
                await self.set_admin(await self._index(name), up=True, what=f"bring {name} up")
            case CreateVlan(name=name, bond=bond, vlan_id=vlan_id):
                bond_index = await self._index(bond)
                fields = [
                    ["IFLA_IFNAME", name],
                    ["IFLA_LINK", bond_index],
                    _linkinfo("vlan", [["IFLA_VLAN_ID", vlan_id]]),
                ]
                await self.nl.request(
                    link_msg(attrs=fields), RTM_NEWLINK, f"create VLAN {name}", create=True
                )
                undo.append(lambda: self.delete_link(name))
            case AddAddress(name=name, address=address):
                index = await self._index(name)
                await self.nl.request(
                    _addr_msg(index, address), RTM_NEWADDR, f"add {address} to {name}", create=True
                )
                undo.append(lambda: self._del_address(index, address))

    async def _remove(self, step: DeleteLink | RemoveAddress | Release) -> None:
        """Reload's removals: not undone if a later step fails (they were asked for)."""
        match step:
            case DeleteLink(name=name):
                await self.delete_link(name)
            case RemoveAddress(name=name, address=address):
                await self._del_address(await self._index(name), address)
            case Release(name=name):
                await self._release(await self._index(name))

    async def set_admin(self, index: int, up: bool, what: str) -> None:
        await self.nl.request(
            link_msg(index, flags=IFF_UP if up else 0, change=IFF_UP), RTM_NEWLINK, what
        )

    async def delete_link(self, name: str) -> None:
        index = await self._index(name)
        await self.nl.request(link_msg(index), RTM_DELLINK, f"delete {name}")

    async def _release(self, index: int) -> None:
        await self.nl.request(link_msg(index, attrs=[["IFLA_MASTER", 0]]), RTM_NEWLINK, "release")

    async def _del_address(self, index: int, address: Address) -> None:
        await self.nl.request(_addr_msg(index, address), RTM_DELADDR, f"remove {address}")

    async def switch(self, bond_index: int, member_index: int, what: str) -> int:
        """Make a slave active; returns the stamp of the kernel's ACK (see NetlinkSocket)."""
        data = [["IFLA_BOND_ACTIVE_SLAVE", member_index]]
        return await self.nl.request(
            link_msg(bond_index, attrs=[_linkinfo("bond", data)]), RTM_NEWLINK, what
        )


def _addr_msg(index: int, address: IPv4Interface | IPv6Interface) -> ifaddrmsg:
    msg = ifaddrmsg()
    msg["family"] = socket.AF_INET if address.version == 4 else socket.AF_INET6
    msg["prefixlen"] = address.network.prefixlen
    msg["index"] = index
    ip = str(address.ip)
    msg["attrs"] = attrs([("IFA_LOCAL", ip if address.version == 4 else None), ("IFA_ADDRESS", ip)])
    return msg
