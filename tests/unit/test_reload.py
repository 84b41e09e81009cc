"""Reload planning (what goes away, what the snapshot will be) and state carried across it."""

from __future__ import annotations

from ipaddress import IPv4Interface
from typing import Any

from teamd_py.config import TeamConfig, parse_config
from teamd_py.engine.aft import AftEngine, TeamPolicy
from teamd_py.engine.events import ActiveReported, MemberPresent, PathReported, PathStatus, Pin
from teamd_py.kernel.links import Link
from teamd_py.kernel.plan import (
    AddAddress,
    CreateVlan,
    DeleteLink,
    Release,
    RemoveAddress,
    SetUp,
    after_removals,
    plan_removals,
    plan_team,
)

BOND = 10


def team(**keys: Any) -> TeamConfig:
    base: dict[str, Any] = {
        "name": "team1",
        "member": [{"name": "eth0", "role": "primary"}, {"name": "eth1"}],
        "vlan": [{"name": "vadapt1", "id": 10, "addresses": ["192.168.1.1/24"]}],
    }
    base.update(keys)
    return parse_config({"team": [base]}).teams[0]


def link(index: int, name: str, **kw: Any) -> Link:
    fields: dict[str, Any] = dict(
        kind=None, mac="02:00:00:00:00:01", admin_up=True, carrier=True, master=None, link=None
    )
    fields.update(kw)
    return Link(index=index, name=name, **fields)


def kernel() -> tuple[dict[str, Link], dict[int, set]]:
    links = {
        "team1": link(BOND, "team1", kind="bond", bond_mode=1, bond_miimon=100),
        "eth0": link(2, "eth0", master=BOND),
        "eth1": link(3, "eth1", master=BOND),
        "vadapt1": link(11, "vadapt1", kind="vlan", link=BOND, vlan_id=10),
    }
    return links, {11: {IPv4Interface("192.168.1.1/24")}}


def test_an_unchanged_team_removes_and_adds_nothing():
    links, addresses = kernel()
    assert plan_removals(team(), team(), links, addresses) == []
    assert plan_team(team(), links, addresses, ["eth0", "eth1"]) == []


def test_removals_cover_vlans_addresses_and_members():
    links, addresses = kernel()
    addresses[11].add(IPv4Interface("10.9.9.9/24"))  # added by hand: not ours to remove
    new = team(
        member=[{"name": "eth0", "role": "primary"}],
        vlan=[{"name": "vadapt1", "id": 10, "addresses": []}],
    )
    assert plan_removals(team(), new, links, addresses) == [
        RemoveAddress("vadapt1", IPv4Interface("192.168.1.1/24")),
        Release("eth1"),
    ]
    assert plan_removals(team(), team(vlan=[]), links, addresses) == [DeleteLink("vadapt1")]


def test_a_vlan_whose_id_changed_is_deleted_then_created_again():
    links, addresses = kernel()
    new = team(vlan=[{"name": "vadapt1", "id": 20, "addresses": ["192.168.1.1/24"]}])
    removals = plan_removals(team(), new, links, addresses)
    assert removals == [DeleteLink("vadapt1")]
    after_links, after_addresses = after_removals(removals, links, addresses)
    assert "vadapt1" not in after_links
    assert plan_team(new, after_links, after_addresses, ["eth0", "eth1"]) == [
        CreateVlan("vadapt1", "team1", 20),
        SetUp("vadapt1"),
        AddAddress("vadapt1", IPv4Interface("192.168.1.1/24")),
    ]


def test_after_removals_leaves_the_input_untouched():
    links, addresses = kernel()
    after_links, after_addresses = after_removals(
        [Release("eth1"), RemoveAddress("vadapt1", IPv4Interface("192.168.1.1/24"))],
        links,
        addresses,
    )
    assert after_links["eth1"].master is None and links["eth1"].master == BOND
    assert after_addresses[11] == set() and addresses[11]


def test_the_engine_keeps_what_it_knew_across_a_reload():
    old = AftEngine(
        TeamPolicy.from_config(team(arp={"targets": [{"ip": "192.168.1.254", "vlan": 10}]}))
    )
    old.observe(
        MemberPresent("eth0", True),
        MemberPresent("eth1", True),
        ActiveReported("eth1"),
        PathReported("eth0", PathStatus.UP),
        PathReported("eth1", PathStatus.UP),
        now=0,
    )
    old.observe(Pin("eth1"), now=1)
    new_config = team(arp={"targets": [{"ip": "192.168.1.254", "vlan": 10}]}, preempt="never")
    new = AftEngine(TeamPolicy.from_config(new_config))
    new.carry_from(old)
    assert new.active == "eth1" and new.pinned == "eth1" and new.state == old.state
    assert new.members["eth0"].path is PathStatus.UP and new.healthy("eth0", 2)
    assert new.handle_timer(2) == []
