"""Tests for planning a team against a snapshot of the kernel's links and addresses."""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv6Interface, ip_interface
from typing import Any

import pytest

from teamd_py.config import TeamConfig, parse_config
from teamd_py.kernel.links import BOND_MODE_ACTIVEBACKUP, Link
from teamd_py.kernel.plan import (
    AddAddress,
    CreateBond,
    CreateVlan,
    Enslave,
    SetBondMonitoring,
    SetMac,
    SetUp,
    TeamConflict,
    plan_team,
)

Address = IPv4Interface | IPv6Interface

ETH0, ETH1, BOND, VLAN1, VLAN2, OTHER = 2, 3, 10, 11, 12, 20
PREFERRED = ["eth0", "eth1"]


def team(**keys: Any) -> TeamConfig:
    """The validated team1 (eth0, eth1, VLANs 10 and 15), with ``keys`` added or replaced."""
    table: dict[str, Any] = {
        "name": "team1",
        "addresses": ["10.0.0.1/24"],
        "member": [{"name": "eth0", "role": "primary"}, {"name": "eth1", "role": "secondary"}],
        "vlan": [
            {"name": "vadapt1", "id": 10, "addresses": ["192.168.1.1/24"]},
            {"name": "vadapt2", "id": 15, "addresses": ["192.168.2.1/24", "fd00:15::1/64"]},
        ],
    }
    table.update(keys)
    return parse_config({"team": [table]}).teams[0]


def nic(index: int, name: str, *, master: int | None = None, up: bool = True) -> Link:
    """A plain NIC, optionally enslaved to ``master``."""
    return Link(
        index=index,
        name=name,
        kind=None,
        mac=f"52:54:00:00:00:{index:02x}",
        admin_up=up,
        carrier=up,
        master=master,
        link=None,
        slave_kind="bond" if master is not None else None,
    )


def bond(
    *,
    index: int = BOND,
    name: str = "team1",
    mode: int = BOND_MODE_ACTIVEBACKUP,
    miimon: int = 100,
    arp_interval: int = 0,
    fail_over_mac: int = 0,
    mac: str = "52:54:00:00:00:02",
    up: bool = True,
) -> Link:
    """A bond as the kernel reports it."""
    return Link(
        index=index,
        name=name,
        kind="bond",
        mac=mac,
        admin_up=up,
        carrier=up,
        master=None,
        link=None,
        bond_mode=mode,
        bond_miimon=miimon,
        bond_arp_interval=arp_interval,
        bond_fail_over_mac=fail_over_mac,
    )


def vlan(index: int, name: str, parent: int | None, vlan_id: int, *, up: bool = True) -> Link:
    """An 802.1Q device on ``parent``."""
    return Link(
        index=index,
        name=name,
        kind="vlan",
        mac="52:54:00:00:00:02",
        admin_up=up,
        carrier=up,
        master=None,
        link=parent,
        vlan_id=vlan_id,
    )


def links(*items: Link) -> dict[str, Link]:
    return {link.name: link for link in items}


def addrs(*cidrs: str) -> set[Address]:
    return {ip_interface(c) for c in cidrs}


def adopted() -> tuple[dict[str, Link], dict[int, set[Address]]]:
    """A kernel that already holds exactly what ``team()`` describes."""
    kernel = links(
        nic(ETH0, "eth0", master=BOND),
        nic(ETH1, "eth1", master=BOND),
        bond(),
        vlan(VLAN1, "vadapt1", BOND, 10),
        vlan(VLAN2, "vadapt2", BOND, 15),
    )
    addresses = {
        BOND: addrs("10.0.0.1/24", "fe80::1/64"),
        VLAN1: addrs("192.168.1.1/24"),
        VLAN2: addrs("192.168.2.1/24", "fd00:15::1/64"),
    }
    return kernel, addresses


def conflicts(
    config: TeamConfig,
    kernel: dict[str, Link],
    addresses: dict[int, set[Address]] | None = None,
) -> list[str]:
    """The problems plan_team refuses with (it must refuse)."""
    with pytest.raises(TeamConflict) as info:
        plan_team(config, kernel, addresses or {}, PREFERRED)
    assert info.value.team == config.name
    return info.value.problems


# --- Building from nothing ------------------------------------------------------------------


def test_empty_kernel_builds_everything_in_order() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"))
    steps = plan_team(team(), kernel, {}, ["eth1", "eth0"])
    assert steps == [
        CreateBond("team1", None, 100),
        Enslave("eth1", "team1", was_up=True),
        Enslave("eth0", "team1", was_up=True),
        SetUp("team1"),
        CreateVlan("vadapt1", "team1", 10),
        SetUp("vadapt1"),
        CreateVlan("vadapt2", "team1", 15),
        SetUp("vadapt2"),
        AddAddress("team1", IPv4Interface("10.0.0.1/24")),
        AddAddress("vadapt1", IPv4Interface("192.168.1.1/24")),
        AddAddress("vadapt2", IPv4Interface("192.168.2.1/24")),
        AddAddress("vadapt2", IPv6Interface("fd00:15::1/64")),
    ]


def test_preferred_order_decides_enslaving_not_file_order() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"))
    config = team(vlan=[], addresses=[])
    assert plan_team(config, kernel, {}, ["eth0", "eth1"]) == [
        CreateBond("team1", None, 100),
        Enslave("eth0", "team1", was_up=True),
        Enslave("eth1", "team1", was_up=True),
        SetUp("team1"),
    ]
    assert plan_team(config, kernel, {}, ["eth1", "eth0"]) == [
        CreateBond("team1", None, 100),
        Enslave("eth1", "team1", was_up=True),
        Enslave("eth0", "team1", was_up=True),
        SetUp("team1"),
    ]


def test_a_fixed_mac_goes_into_create_bond() -> None:
    config = team(mac="02:AA:BB:CC:DD:EE", vlan=[], addresses=[])
    steps = plan_team(config, links(nic(ETH0, "eth0"), nic(ETH1, "eth1")), {}, PREFERRED)
    assert steps[0] == CreateBond("team1", "02:aa:bb:cc:dd:ee", 100)
    assert not any(isinstance(s, SetMac) for s in steps)


def test_a_missing_member_is_not_enslaved() -> None:
    steps = plan_team(team(vlan=[], addresses=[]), links(nic(ETH1, "eth1")), {}, PREFERRED)
    assert steps == [
        CreateBond("team1", None, 100),
        Enslave("eth1", "team1", was_up=True),
        SetUp("team1"),
    ]


def test_no_member_present_still_builds_the_team() -> None:
    steps = plan_team(team(vlan=[]), {}, {}, PREFERRED)
    assert steps == [
        CreateBond("team1", None, 100),
        SetUp("team1"),
        AddAddress("team1", IPv4Interface("10.0.0.1/24")),
    ]


# --- Adopting what is there -----------------------------------------------------------------


def test_a_matching_kernel_is_adopted_unchanged() -> None:
    kernel, addresses = adopted()
    assert plan_team(team(), kernel, addresses, PREFERRED) == []


def test_adoption_only_adds_what_is_missing() -> None:
    kernel, addresses = adopted()
    del kernel["vadapt2"]
    kernel["eth1"] = nic(ETH1, "eth1")
    addresses[BOND] = addrs("fe80::1/64")
    addresses[VLAN2] = set()
    assert plan_team(team(), kernel, addresses, PREFERRED) == [
        Enslave("eth1", "team1", was_up=True),
        CreateVlan("vadapt2", "team1", 15),
        SetUp("vadapt2"),
        AddAddress("team1", IPv4Interface("10.0.0.1/24")),
        AddAddress("vadapt2", IPv4Interface("192.168.2.1/24")),
        AddAddress("vadapt2", IPv6Interface("fd00:15::1/64")),
    ]


def test_adoption_brings_down_devices_up() -> None:
    kernel, addresses = adopted()
    kernel["eth0"] = nic(ETH0, "eth0", master=BOND, up=False)
    kernel["team1"] = bond(up=False)
    kernel["vadapt1"] = vlan(VLAN1, "vadapt1", BOND, 10, up=False)
    assert plan_team(team(), kernel, addresses, PREFERRED) == [
        SetUp("eth0"),
        SetUp("team1"),
        SetUp("vadapt1"),
    ]


@pytest.mark.parametrize(("miimon", "arp_interval"), [(0, 0), (0, 1000), (100, 1000), (200, 0)])
def test_kernel_monitoring_becomes_the_safety_net(miimon: int, arp_interval: int) -> None:
    kernel, addresses = adopted()
    kernel["team1"] = bond(miimon=miimon, arp_interval=arp_interval)
    assert plan_team(team(), kernel, addresses, PREFERRED) == [
        SetBondMonitoring("team1", 100, 0, 0)
    ]


def test_the_safety_net_mirrors_the_daemons_delays_in_miimon_steps() -> None:
    kernel, addresses = adopted()
    config = team(carrier={"up_delay_ms": 250, "down_delay_ms": 100})
    assert plan_team(config, kernel, addresses, PREFERRED) == [
        SetBondMonitoring("team1", 100, 300, 100)
    ]
    off = team(carrier={"kernel_miimon_ms": 0})
    assert plan_team(off, kernel, addresses, PREFERRED) == [SetBondMonitoring("team1", 0, 0, 0)]


def test_hand_made_bond_gets_its_monitoring_set_and_the_rest() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"), bond(miimon=0, up=False))
    config = team(vlan=[])
    assert plan_team(config, kernel, {}, PREFERRED) == [
        SetBondMonitoring("team1", 100, 0, 0),
        Enslave("eth0", "team1", was_up=True),
        Enslave("eth1", "team1", was_up=True),
        SetUp("team1"),
        AddAddress("team1", IPv4Interface("10.0.0.1/24")),
    ]


def test_a_different_mac_on_an_existing_bond_is_set() -> None:
    kernel, addresses = adopted()
    config = team(mac="02:00:00:00:00:01")
    assert plan_team(config, kernel, addresses, PREFERRED) == [SetMac("team1", "02:00:00:00:00:01")]


def test_the_same_mac_on_an_existing_bond_changes_nothing() -> None:
    kernel, addresses = adopted()
    kernel["team1"] = bond(mac="02:aa:bb:cc:dd:ee")
    config = team(mac="02:AA:BB:CC:DD:EE")
    assert plan_team(config, kernel, addresses, PREFERRED) == []


def test_auto_mac_leaves_an_existing_bonds_mac_alone() -> None:
    kernel, addresses = adopted()
    kernel["team1"] = bond(mac="02:aa:bb:cc:dd:ee")
    assert plan_team(team(mac="auto"), kernel, addresses, PREFERRED) == []


def test_an_ipv6_link_local_address_does_not_keep_a_nic_out() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"))
    addresses = {ETH0: addrs("fe80::5054:ff:fe00:2/64")}
    steps = plan_team(team(vlan=[], addresses=[]), kernel, addresses, PREFERRED)
    assert steps == [
        CreateBond("team1", None, 100),
        Enslave("eth0", "team1", was_up=True),
        Enslave("eth1", "team1", was_up=True),
        SetUp("team1"),
    ]


# --- Refusing -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "shown"), [(None, "none"), ("veth", "veth")])
def test_name_taken_by_something_else(kind: str | None, shown: str) -> None:
    taken = Link(
        index=BOND,
        name="team1",
        kind=kind,
        mac=None,
        admin_up=True,
        carrier=True,
        master=None,
        link=None,
    )
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"), taken)
    assert conflicts(team(vlan=[]), kernel) == [f"team1 exists and is not a bond (kind {shown})"]


def test_bond_in_another_mode() -> None:
    kernel, addresses = adopted()
    kernel["team1"] = bond(mode=0)
    assert conflicts(team(), kernel, addresses) == [
        "bond team1 is in mode 0, not active-backup; "
        "its mode cannot change while it is in use, so it is left alone"
    ]


def test_bond_with_fail_over_mac() -> None:
    kernel, addresses = adopted()
    kernel["team1"] = bond(fail_over_mac=1)
    assert conflicts(team(), kernel, addresses) == [
        "bond team1 has fail_over_mac 1: the logical MAC would follow the active member; "
        "set it to none (0) while the bond has no slaves"
    ]


def test_member_enslaved_to_another_bond() -> None:
    kernel = links(
        nic(ETH0, "eth0", master=OTHER), nic(ETH1, "eth1"), bond(index=OTHER, name="bond0")
    )
    assert conflicts(team(vlan=[]), kernel) == ["member eth0 is already enslaved to bond0"]


def test_member_enslaved_to_an_unknown_master() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1", master=99))
    assert conflicts(team(vlan=[]), kernel) == ["member eth1 is already enslaved to ifindex 99"]


def test_member_enslaved_elsewhere_while_the_bond_exists() -> None:
    kernel, addresses = adopted()
    kernel["bond0"] = bond(index=OTHER, name="bond0")
    kernel["eth1"] = nic(ETH1, "eth1", master=OTHER)
    assert conflicts(team(), kernel, addresses) == ["member eth1 is already enslaved to bond0"]


def test_member_carrying_an_ipv4_address() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"))
    addresses = {ETH0: addrs("192.0.2.5/24", "fe80::1/64")}
    assert conflicts(team(vlan=[]), kernel, addresses) == [
        "member eth0 carries addresses 192.0.2.5/24: enslaving it would cut their traffic; "
        "move them into the team's config and remove them from the NIC"
    ]


def test_member_carrying_a_global_ipv6_address_lists_all_of_them() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"))
    addresses = {ETH1: addrs("2001:db8::5/64", "fe80::1/64", "198.51.100.7/25")}
    assert conflicts(team(vlan=[]), kernel, addresses) == [
        "member eth1 carries addresses 198.51.100.7/25, 2001:db8::5/64: enslaving it would cut "
        "their traffic; move them into the team's config and remove them from the NIC"
    ]


def test_vlan_name_taken_by_something_else() -> None:
    kernel, addresses = adopted()
    kernel["vadapt1"] = nic(VLAN1, "vadapt1")
    assert conflicts(team(), kernel, addresses) == ["vadapt1 exists and is not a VLAN (kind none)"]


def test_vlan_on_another_parent() -> None:
    kernel, addresses = adopted()
    kernel["eth5"] = nic(OTHER, "eth5")
    kernel["vadapt2"] = vlan(VLAN2, "vadapt2", OTHER, 15)
    assert conflicts(team(), kernel, addresses) == ["VLAN vadapt2 exists on eth5, not on team1"]


def test_vlan_on_an_unknown_parent() -> None:
    kernel, addresses = adopted()
    kernel["vadapt2"] = vlan(VLAN2, "vadapt2", 99, 15)
    assert conflicts(team(), kernel, addresses) == [
        "VLAN vadapt2 exists on another device, not on team1"
    ]


def test_vlan_existing_before_its_bond() -> None:
    kernel = links(nic(ETH0, "eth0"), nic(ETH1, "eth1"), vlan(VLAN1, "vadapt1", ETH0, 10))
    assert conflicts(team(vlan=[{"name": "vadapt1", "id": 10}]), kernel) == [
        "VLAN vadapt1 exists on eth0, not on team1"
    ]


def test_vlan_with_the_wrong_id() -> None:
    kernel, addresses = adopted()
    kernel["vadapt1"] = vlan(VLAN1, "vadapt1", BOND, 11)
    assert conflicts(team(), kernel, addresses) == ["VLAN vadapt1 has id 11, not 10"]


def test_every_conflict_is_reported_at_once() -> None:
    kernel, addresses = adopted()
    kernel["team1"] = bond(mode=4)
    kernel["bond0"] = bond(index=OTHER, name="bond0")
    kernel["eth0"] = nic(ETH0, "eth0", master=OTHER)
    kernel["eth1"] = nic(ETH1, "eth1")
    addresses[ETH1] = addrs("192.0.2.9/24")
    kernel["vadapt1"] = vlan(VLAN1, "vadapt1", BOND, 99)
    kernel["vadapt2"] = nic(VLAN2, "vadapt2")
    expected = [
        "bond team1 is in mode 4, not active-backup; "
        "its mode cannot change while it is in use, so it is left alone",
        "member eth0 is already enslaved to bond0",
        "member eth1 carries addresses 192.0.2.9/24: enslaving it would cut their traffic; "
        "move them into the team's config and remove them from the NIC",
        "VLAN vadapt1 has id 99, not 10",
        "vadapt2 exists and is not a VLAN (kind none)",
    ]
    with pytest.raises(TeamConflict) as info:
        plan_team(team(), kernel, addresses, PREFERRED)
    assert info.value.team == "team1"
    assert info.value.problems == expected
    assert str(info.value) == "; ".join(f"team1: {p}" for p in expected)
