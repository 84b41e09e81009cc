"""Tests for the bond backend against fake sockets: what it sends, and what it undoes."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

import pytest
import trio
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from teamd_py.kernel.bond import BondBackend
from teamd_py.kernel.links import IFF_UP
from teamd_py.kernel.netlink import NetlinkError
from teamd_py.kernel.plan import (
    AddAddress,
    CreateBond,
    CreateVlan,
    Enslave,
    SetBondMonitoring,
    SetMac,
    SetUp,
    Step,
)

INDEXES = {"eth0": 2, "eth1": 3, "team1": 10, "vadapt1": 11, "vadapt2": 12}


@dataclass
class Sent:
    """One change request as the kernel would have received it."""

    msg: Any  # the message decoded from its encoded bytes
    msg_type: int
    what: str
    create: bool


@dataclass
class FakeNetlink:
    """Records change requests; those whose `what` is in `fail_on` are refused with EEXIST."""

    fail_on: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)

    async def request(self, msg: Any, msg_type: int, what: str, create: bool = False) -> int:
        msg.encode()
        decoded = (ifaddrmsg if isinstance(msg, ifaddrmsg) else ifinfmsg)(msg.data)
        decoded.decode()
        self.sent.append(Sent(decoded, msg_type, what, create))
        if what in self.fail_on:
            raise NetlinkError(errno.EEXIST, what)
        return 100 + len(self.sent)


@dataclass
class FakeDumps:
    """Answers link look-ups by name from INDEXES."""

    asked: list[str] = field(default_factory=list)

    async def get(self, msg: Any, msg_type: int, what: str) -> dict[str, int]:
        assert msg_type == RTM_GETLINK
        name = msg.get_attr("IFLA_IFNAME")
        self.asked.append(name)
        return {"index": INDEXES[name]}


def backend(*fail_on: str) -> tuple[BondBackend, FakeNetlink]:
    nl = FakeNetlink(fail_on=set(fail_on))
    return BondBackend(nl=nl, dumps=FakeDumps()), nl


def _info(msg: Any) -> tuple[str | None, dict[str, Any]]:
    """The kind and the data attributes of a link message's IFLA_LINKINFO."""
    info = msg.get_attr("IFLA_LINKINFO")
    if info is None:
        return None, {}
    data = info.get_attr("IFLA_INFO_DATA")
    return info.get_attr("IFLA_INFO_KIND"), dict(data["attrs"]) if data is not None else {}


def describe(sent: Sent) -> tuple[Any, ...]:
    """A request in a short comparable form, decoded from the bytes that were sent."""
    msg = sent.msg
    index = msg["index"]
    if sent.msg_type in (RTM_NEWADDR, RTM_DELADDR):
        op = "add-addr" if sent.msg_type == RTM_NEWADDR else "del-addr"
        ip = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        return (op, index, f"{ip}/{msg['prefixlen']}")
    if sent.msg_type == RTM_DELLINK:
        return ("delete", index)
    assert sent.msg_type == RTM_NEWLINK
    kind, data = _info(msg)
    name = msg.get_attr("IFLA_IFNAME")
    if name is not None:
        assert sent.create and index == 0
        return ("create", name, kind, msg.get_attr("IFLA_LINK"), msg.get_attr("IFLA_ADDRESS"), data)
    assert not sent.create
    master = msg.get_attr("IFLA_MASTER")
    if master is not None:
        return ("master", index, master)
    if msg["change"] == IFF_UP:
        return ("up" if msg["flags"] & IFF_UP else "down", index)
    if kind is not None:
        return ("set", index, kind, data)
    return ("set-mac", index, msg.get_attr("IFLA_ADDRESS"))


V4 = IPv4Interface("10.0.0.1/24")
V6 = IPv6Interface("fd00:10::1/64")

PLAN: list[Step] = [
    CreateBond("team1", "02:00:00:00:00:01"),
    Enslave("eth0", "team1"),
    Enslave("eth1", "team1"),
    SetUp("team1"),
    CreateVlan("vadapt1", "team1", 10),
    SetUp("vadapt1"),
    AddAddress("team1", V4),
    AddAddress("vadapt1", V6),
    CreateVlan("vadapt2", "team1", 15),
    SetUp("vadapt2"),
]

BOND_DATA = {
    "IFLA_BOND_MODE": 1,
    "IFLA_BOND_MIIMON": 0,
    "IFLA_BOND_UPDELAY": 0,
    "IFLA_BOND_DOWNDELAY": 0,
}

# What PLAN sends, in order, when nothing fails.
PLAN_REQUESTS: list[tuple[Any, ...]] = [
    ("create", "team1", "bond", None, "02:00:00:00:00:01", BOND_DATA),
    ("down", 2),
    ("master", 2, 10),
    ("up", 2),
    ("down", 3),
    ("master", 3, 10),
    ("up", 3),
    ("up", 10),
    ("create", "vadapt1", "vlan", 10, None, {"IFLA_VLAN_ID": 10}),
    ("up", 11),
    ("add-addr", 10, "10.0.0.1/24"),
    ("add-addr", 11, "fd00:10::1/64"),
    ("create", "vadapt2", "vlan", 10, None, {"IFLA_VLAN_ID": 15}),
    ("up", 12),
]


async def test_a_successful_apply_sends_the_plan_and_undoes_nothing() -> None:
    be, nl = backend()
    await be.apply(PLAN)
    assert [describe(s) for s in nl.sent] == PLAN_REQUESTS
    assert [s.create for s in nl.sent] == [d[0] in ("create", "add-addr") for d in PLAN_REQUESTS]


async def test_adjusting_an_adopted_bond() -> None:
    be, nl = backend()
    await be.apply([SetBondMonitoring("team1", 100, 200, 0), SetMac("team1", "02:00:00:00:00:02")])
    assert [describe(s) for s in nl.sent] == [
        (
            "set",
            10,
            "bond",
            {
                "IFLA_BOND_ARP_INTERVAL": 0,
                "IFLA_BOND_MIIMON": 100,
                "IFLA_BOND_UPDELAY": 200,
                "IFLA_BOND_DOWNDELAY": 0,
            },
        ),
        ("set-mac", 10, "02:00:00:00:00:02"),
    ]


async def test_a_failure_undoes_everything_created_in_reverse() -> None:
    be, nl = backend("create VLAN vadapt2")
    with pytest.raises(NetlinkError) as info:
        await be.apply(PLAN)
    assert info.value.code == errno.EEXIST
    assert info.value.what == "create VLAN vadapt2"
    failed = PLAN_REQUESTS.index(("create", "vadapt2", "vlan", 10, None, {"IFLA_VLAN_ID": 15}))
    sent = [describe(s) for s in nl.sent]
    assert sent[: failed + 1] == PLAN_REQUESTS[: failed + 1]
    assert sent[failed + 1 :] == [
        ("del-addr", 11, "fd00:10::1/64"),
        ("del-addr", 10, "10.0.0.1/24"),
        ("delete", 11),
        ("master", 3, 0),
        ("master", 2, 0),
        ("delete", 10),
    ]
    assert [s.msg_type for s in nl.sent[failed + 1 :]] == [
        RTM_DELADDR,
        RTM_DELADDR,
        RTM_DELLINK,
        RTM_NEWLINK,
        RTM_NEWLINK,
        RTM_DELLINK,
    ]


@pytest.mark.parametrize(
    ("fail_on", "undo"),
    [
        ("create bond team1", []),
        ("enslave eth0 to team1", [("delete", 10)]),
        ("bring eth1 up", [("master", 3, 0), ("master", 2, 0), ("delete", 10)]),
        ("create VLAN vadapt1", [("master", 3, 0), ("master", 2, 0), ("delete", 10)]),
        (
            "add fd00:10::1/64 to vadapt1",
            [
                ("del-addr", 10, "10.0.0.1/24"),
                ("delete", 11),
                ("master", 3, 0),
                ("master", 2, 0),
                ("delete", 10),
            ],
        ),
    ],
)
async def test_a_failure_at_any_step_undoes_what_came_before(
    fail_on: str, undo: list[tuple[Any, ...]]
) -> None:
    be, nl = backend(fail_on)
    with pytest.raises(NetlinkError) as info:
        await be.apply(PLAN)
    assert info.value.what == fail_on
    whats = [s.what for s in nl.sent]
    failed = whats.index(fail_on)
    sent = [describe(s) for s in nl.sent]
    assert sent[: failed + 1] == PLAN_REQUESTS[: failed + 1]
    assert sent[failed + 1 :] == undo


async def test_a_failing_undo_does_not_stop_the_others() -> None:
    be, nl = backend("create VLAN vadapt1", "release")
    with pytest.raises(NetlinkError) as info:
        await be.apply(PLAN)
    assert info.value.what == "create VLAN vadapt1"
    undo = [describe(s) for s in nl.sent[[s.what for s in nl.sent].index(info.value.what) + 1 :]]
    assert undo == [("master", 3, 0), ("master", 2, 0), ("delete", 10)]


async def test_switch_sets_the_active_slave() -> None:
    be, nl = backend()
    stamp = await be.switch(10, 3, "make eth1 active")
    assert stamp == 101
    [sent] = nl.sent
    assert sent.msg_type == RTM_NEWLINK
    assert sent.what == "make eth1 active"
    assert sent.create is False
    assert sent.msg["index"] == 10
    assert _info(sent.msg) == ("bond", {"IFLA_BOND_ACTIVE_SLAVE": 3})
    assert sent.msg.get_attr("IFLA_IFNAME") is None
    assert sent.msg.get_attr("IFLA_MASTER") is None


async def test_a_refused_switch_raises() -> None:
    be, nl = backend("make eth1 active")
    with pytest.raises(NetlinkError) as info:
        await be.switch(10, 3, "make eth1 active")
    assert info.value.code == errno.EEXIST
    assert len(nl.sent) == 1


async def test_a_refused_enslave_brings_the_nic_back_up() -> None:
    be, nl = backend("enslave eth0 to team1")
    with pytest.raises(NetlinkError):
        await be.apply([CreateBond("team1", None), Enslave("eth0", "team1", was_up=True)])
    sent = [describe(s) for s in nl.sent]
    assert sent[-2:] == [("up", 2), ("delete", 10)]


async def test_a_refused_enslave_leaves_a_down_nic_down() -> None:
    be, nl = backend("enslave eth0 to team1")
    with pytest.raises(NetlinkError):
        await be.apply([CreateBond("team1", None), Enslave("eth0", "team1", was_up=False)])
    assert [describe(s) for s in nl.sent][-1] == ("delete", 10)
    assert ("up", 2) not in [describe(s) for s in nl.sent]


class SlowNetlink(FakeNetlink):
    async def request(self, msg: Any, msg_type: int, what: str, create: bool = False) -> int:
        await trio.sleep(0.01)
        return await super().request(msg, msg_type, what, create)


async def test_a_cancelled_apply_still_undoes(autojump_clock: trio.abc.Clock) -> None:
    nl = SlowNetlink(fail_on=set())
    be = BondBackend(nl=nl, dumps=FakeDumps())  # type: ignore[arg-type]
    with trio.move_on_after(0.015):
        await be.apply([CreateBond("team1", None), Enslave("eth0", "team1")])
    assert [describe(s) for s in nl.sent][-1] == ("delete", 10)
