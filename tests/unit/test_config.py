"""Tests for loading and validating the TOML configuration."""

import copy
import tomllib
from ipaddress import IPv4Address, IPv4Interface, IPv6Interface
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamd_py.config import (
    DEFAULT_CONFIG_PATH,
    CarrierConfig,
    Config,
    ConfigError,
    MemberConfig,
    NotifyConfig,
    PathPolicy,
    Preempt,
    ProbeConfig,
    ProbeTarget,
    Problem,
    Role,
    TeamConfig,
    VlanConfig,
    load_config,
    parse_config,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
SRC = "test.toml"


def team(**keys: Any) -> dict[str, Any]:
    """A valid team table, with ``keys`` added or replaced."""
    base: dict[str, Any] = {
        "name": "team1",
        "member": [{"name": "eth0", "role": "primary"}, {"name": "eth1", "role": "secondary"}],
    }
    base.update(keys)
    return base


def doc(*teams: dict[str, Any]) -> dict[str, Any]:
    return {"team": list(teams) or [team()]}


def problems(data: Any) -> list[str]:
    """The problem lines parse_config reports for ``data`` (it must fail)."""
    with pytest.raises(ConfigError) as info:
        parse_config(data, SRC)
    return info.value.lines()


def toml_problems(text: str) -> list[str]:
    return problems(tomllib.loads(text))


def line(path: str, message: str) -> str:
    return f"{SRC}: {path}: {message}"


# --- Accepted configurations --------------------------------------------------------------


def test_example_file_loads_to_the_expected_model() -> None:
    config = load_config(EXAMPLE)
    assert config == Config(
        teams=(
            TeamConfig(
                name="team1",
                mac=None,
                addresses=(),
                preempt=Preempt.ALWAYS,
                preempt_delay_ms=0,
                carrier=CarrierConfig(up_delay_ms=0, down_delay_ms=0),
                notify=NotifyConfig(count=3, interval_ms=200),
                members=(
                    MemberConfig(name="eth0", priority=200, role=Role.PRIMARY),
                    MemberConfig(name="eth1", priority=100, role=Role.SECONDARY),
                ),
                vlans=(
                    VlanConfig("vadapt1", 10, (IPv4Interface("192.168.1.1/24"),)),
                    VlanConfig("vadapt2", 15, (IPv4Interface("192.168.2.1/24"),)),
                ),
                arp=ProbeConfig(
                    targets=(
                        ProbeTarget(IPv4Address("192.168.1.254"), 10),
                        ProbeTarget(IPv4Address("192.168.2.254"), 15),
                    ),
                    interval_ms=100,
                    missed_max=3,
                    rise=2,
                    policy=PathPolicy.ANY,
                ),
            ),
        ),
        source=str(EXAMPLE),
    )
    assert config.team("team1").member("eth1").role is Role.SECONDARY
    assert config.source == str(EXAMPLE)


def test_lookups_raise_key_error_for_unknown_names() -> None:
    config = parse_config(doc())
    with pytest.raises(KeyError):
        config.team("nope")
    with pytest.raises(KeyError):
        config.team("team1").member("nope")


def test_defaults() -> None:
    config = parse_config({"team": [{"name": "bond0", "member": [{"name": "eth0"}]}]})
    assert config.source == "<config>"
    t = config.teams[0]
    assert t.mac is None
    assert t.addresses == ()
    assert t.preempt is Preempt.ALWAYS
    assert t.preempt_delay_ms == 0
    assert t.carrier == CarrierConfig(0, 0)
    assert t.notify == NotifyConfig(3, 200)
    assert t.vlans == ()
    assert t.members == (MemberConfig("eth0", 0, Role.STANDBY),)


def test_default_config_path() -> None:
    assert DEFAULT_CONFIG_PATH == "/etc/teamd-py/config.toml"


@pytest.mark.parametrize(
    ("member", "priority", "role"),
    [
        ({"role": "primary"}, 200, Role.PRIMARY),
        ({"role": "secondary"}, 100, Role.SECONDARY),
        ({"role": "standby"}, 0, Role.STANDBY),
        ({}, 0, Role.STANDBY),
        ({"priority": 150}, 150, None),
        ({"priority": -1000}, -1000, None),
        ({"priority": 1000}, 1000, None),
    ],
)
def test_role_and_priority_mapping(member: dict[str, Any], priority: int, role: Role) -> None:
    config = parse_config(doc(team(member=[{"name": "eth0", **member}])))
    assert config.teams[0].members[0] == MemberConfig("eth0", priority, role)


def test_full_team_values() -> None:
    config = parse_config(
        doc(
            team(
                mac="AA:BB:CC:00:11:22",
                addresses=["10.0.0.2/24", "2001:db8::2/64"],
                preempt="never",
                preempt_delay_ms=3_600_000,
                carrier={"up_delay_ms": 60_000, "down_delay_ms": 5},
                notify={"count": 0, "interval_ms": 10_000},
            )
        )
    )
    t = config.teams[0]
    assert t.mac == "aa:bb:cc:00:11:22"
    assert t.addresses == (IPv4Interface("10.0.0.2/24"), IPv6Interface("2001:db8::2/64"))
    assert t.preempt is Preempt.NEVER
    assert t.preempt_delay_ms == 3_600_000
    assert t.carrier == CarrierConfig(60_000, 5)
    assert t.notify == NotifyConfig(0, 10_000)


def test_member_order_is_kept_and_two_secondaries_are_allowed() -> None:
    members = [{"name": f"eth{i}", "role": "secondary"} for i in (3, 1, 2)]
    config = parse_config(doc(team(member=members)))
    assert [m.name for m in config.teams[0].members] == ["eth3", "eth1", "eth2"]


def test_two_teams_and_fifteen_byte_names() -> None:
    config = parse_config(
        doc(
            team(name="a" * 15, member=[{"name": "eth0"}]),
            team(name="team2", member=[{"name": "eth1"}], vlan=[{"name": "v10", "id": 10}]),
        )
    )
    assert [t.name for t in config.teams] == ["a" * 15, "team2"]
    assert config.team("team2").vlans == (VlanConfig("v10", 10, ()),)


def test_same_vlan_id_in_different_teams_is_allowed() -> None:
    parse_config(
        doc(
            team(name="t1", member=[{"name": "eth0"}], vlan=[{"name": "v1", "id": 10}]),
            team(name="t2", member=[{"name": "eth1"}], vlan=[{"name": "v2", "id": 10}]),
        )
    )


def test_models_are_frozen() -> None:
    t = parse_config(doc()).teams[0]
    with pytest.raises(AttributeError):
        t.name = "other"  # type: ignore[misc]


# --- Rejections, one problem each ---------------------------------------------------------


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    """A valid document with the value at ``path`` set (a missing last key is created)."""
    data = copy.deepcopy(doc(team(vlan=[{"name": "vadapt1", "id": 10}])))
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def _without(path: list[Any]) -> dict[str, Any]:
    """A valid document with the key at ``path`` removed."""
    data = _with(path, None)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return data


REJECTIONS: list[tuple[str, dict[str, Any], str, str]] = [
    # unknown keys, with and without a suggestion
    ("top", {**doc(), "teams": []}, "teams", "unknown key; did you mean 'team'?"),
    ("top-none", {**doc(), "zzz": 1}, "zzz", "unknown key (known keys: daemon, team)"),
    (
        "team",
        _with(["team", 0, "preemt"], "never"),
        "team[0].preemt",
        "unknown key; did you mean 'preempt'?",
    ),
    (
        "carrier",
        _with(["team", 0, "carrier"], {"up_delay": 5}),
        "team[0].carrier.up_delay",
        "unknown key; did you mean 'up_delay_ms'?",
    ),
    (
        "notify",
        _with(["team", 0, "notify"], {"interval": 5}),
        "team[0].notify.interval",
        "unknown key; did you mean 'interval_ms'?",
    ),
    (
        "member",
        _with(["team", 0, "member", 1, "weight"], 5),
        "team[0].member[1].weight",
        "unknown key (known keys: name, role, priority)",
    ),
    (
        "vlan",
        _with(["team", 0, "vlan", 0, "vid"], 5),
        "team[0].vlan[0].vid",
        "unknown key; did you mean 'id'?",
    ),
    # wrong types
    (
        "str-for-int",
        _with(["team", 0, "carrier"], {"up_delay_ms": "10"}),
        "team[0].carrier.up_delay_ms",
        "expected an integer, got a string ('10')",
    ),
    (
        "bool-for-int",
        _with(["team", 0, "preempt_delay_ms"], True),
        "team[0].preempt_delay_ms",
        "expected an integer, got a boolean (true)",
    ),
    (
        "float-for-int",
        _with(["team", 0, "notify"], {"count": 2.5}),
        "team[0].notify.count",
        "expected an integer, got a float (2.5)",
    ),
    (
        "bool-vlan-id",
        _with(["team", 0, "vlan", 0, "id"], False),
        "team[0].vlan[0].id",
        "expected an integer, got a boolean (false)",
    ),
    (
        "table-for-list",
        _with(["team", 0, "member"], {"name": "eth0"}),
        "team[0].member",
        "expected an array of tables ([[team.member]]), got a table",
    ),
    (
        "team-as-table",
        {"team": team()},
        "team",
        "expected an array of tables ([[team]]), got a table",
    ),
    (
        "int-for-table",
        _with(["team", 0, "carrier"], 5),
        "team[0].carrier",
        "expected a table, got an integer (5)",
    ),
    (
        "scalar-member",
        _with(["team", 0, "member", 1], "eth1"),
        "team[0].member[1]",
        "expected a table, got a string ('eth1')",
    ),
    (
        "str-for-addresses",
        _with(["team", 0, "addresses"], "10.0.0.1/24"),
        "team[0].addresses",
        "expected an array, got a string ('10.0.0.1/24')",
    ),
    (
        "int-name",
        _with(["team", 0, "name"], 7),
        "team[0].name",
        "expected a string, got an integer (7)",
    ),
    (
        "int-address",
        _with(["team", 0, "addresses"], [7]),
        "team[0].addresses[0]",
        "expected a string (an address with prefix, like '192.0.2.1/24'), got an integer (7)",
    ),
    (
        "int-mac",
        _with(["team", 0, "mac"], 1),
        "team[0].mac",
        "expected a string ('auto' or a MAC address), got an integer (1)",
    ),
    # missing required keys
    ("no-team", {}, "team", "no [[team]] is defined; at least one is required"),
    ("empty-team", {"team": []}, "team", "no [[team]] is defined; at least one is required"),
    ("team-name", _without(["team", 0, "name"]), "team[0].name", "required key is missing"),
    (
        "member-name",
        _without(["team", 0, "member", 1, "name"]),
        "team[0].member[1].name",
        "required key is missing",
    ),
    (
        "vlan-name",
        _without(["team", 0, "vlan", 0, "name"]),
        "team[0].vlan[0].name",
        "required key is missing",
    ),
    (
        "vlan-id",
        _without(["team", 0, "vlan", 0, "id"]),
        "team[0].vlan[0].id",
        "required key is missing",
    ),
    (
        "no-member",
        _without(["team", 0, "member"]),
        "team[0].member",
        "a team needs at least one [[team.member]]",
    ),
    (
        "empty-member",
        _with(["team", 0, "member"], []),
        "team[0].member",
        "a team needs at least one [[team.member]]",
    ),
    # interface names
    (
        "empty-name",
        _with(["team", 0, "name"], ""),
        "team[0].name",
        "'' is not a valid interface name: it is empty",
    ),
    (
        "long-name",
        _with(["team", 0, "member", 0, "name"], "e" * 16),
        "team[0].member[0].name",
        f"'{'e' * 16}' is not a valid interface name: it is 16 bytes long (at most 15)",
    ),
    (
        "long-utf8-name",
        _with(["team", 0, "name"], "é" * 8),
        "team[0].name",
        f"'{'é' * 8}' is not a valid interface name: it is 16 bytes long (at most 15)",
    ),
    (
        "slash",
        _with(["team", 0, "vlan", 0, "name"], "v/1"),
        "team[0].vlan[0].name",
        "'v/1' is not a valid interface name: it contains '/'",
    ),
    (
        "colon",
        _with(["team", 0, "name"], "team:1"),
        "team[0].name",
        "'team:1' is not a valid interface name: it contains ':'",
    ),
    (
        "space",
        _with(["team", 0, "name"], "team 1"),
        "team[0].name",
        "'team 1' is not a valid interface name: it contains whitespace",
    ),
    (
        "tab",
        _with(["team", 0, "name"], "team\t1"),
        "team[0].name",
        "'team\\t1' is not a valid interface name: it contains whitespace",
    ),
    (
        "nul",
        _with(["team", 0, "name"], "te\0am"),
        "team[0].name",
        "'te\\x00am' is not a valid interface name: it contains a NUL character",
    ),
    (
        "dot",
        _with(["team", 0, "name"], "."),
        "team[0].name",
        "'.' is not a valid interface name: '.' and '..' are reserved",
    ),
    (
        "dotdot",
        _with(["team", 0, "member", 0, "name"], ".."),
        "team[0].member[0].name",
        "'..' is not a valid interface name: '.' and '..' are reserved",
    ),
    # addresses
    (
        "no-prefix",
        _with(["team", 0, "addresses"], ["192.168.1.1"]),
        "team[0].addresses[0]",
        "'192.168.1.1' has no prefix length; write it as CIDR, like '192.168.1.1/24'",
    ),
    (
        "no-prefix-v6",
        _with(["team", 0, "vlan", 0, "addresses"], ["2001:db8::1"]),
        "team[0].vlan[0].addresses[0]",
        "'2001:db8::1' has no prefix length; write it as CIDR, like '2001:db8::1/64'",
    ),
    (
        "bad-cidr",
        _with(["team", 0, "addresses"], ["10.0.0.1/24", "10.0.0.300/24"]),
        "team[0].addresses[1]",
        "'10.0.0.300/24' is not an IPv4 or IPv6 address with a prefix",
    ),
    (
        "bad-prefix",
        _with(["team", 0, "addresses"], ["10.0.0.1/33"]),
        "team[0].addresses[0]",
        "'10.0.0.1/33' is not an IPv4 or IPv6 address with a prefix",
    ),
    (
        "garbage",
        _with(["team", 0, "addresses"], ["hello"]),
        "team[0].addresses[0]",
        "'hello' is not an IPv4 or IPv6 address with a prefix",
    ),
    (
        "multicast",
        _with(["team", 0, "addresses"], ["224.0.0.1/24"]),
        "team[0].addresses[0]",
        "'224.0.0.1/24' is a multicast address; it cannot be configured on a team",
    ),
    (
        "multicast-v6",
        _with(["team", 0, "addresses"], ["ff02::1/64"]),
        "team[0].addresses[0]",
        "'ff02::1/64' is a multicast address; it cannot be configured on a team",
    ),
    (
        "loopback",
        _with(["team", 0, "addresses"], ["127.0.0.2/8"]),
        "team[0].addresses[0]",
        "'127.0.0.2/8' is a loopback address; it cannot be configured on a team",
    ),
    (
        "loopback-v6",
        _with(["team", 0, "addresses"], ["::1/128"]),
        "team[0].addresses[0]",
        "'::1/128' is a loopback address; it cannot be configured on a team",
    ),
    (
        "unspecified",
        _with(["team", 0, "addresses"], ["0.0.0.0/0"]),
        "team[0].addresses[0]",
        "'0.0.0.0/0' is the unspecified address; it cannot be configured on a team",
    ),
    (
        "unspecified-v6",
        _with(["team", 0, "addresses"], ["::/64"]),
        "team[0].addresses[0]",
        "'::/64' is the unspecified address; it cannot be configured on a team",
    ),
    (
        "network-address",
        _with(["team", 0, "addresses"], ["10.0.0.0/24"]),
        "team[0].addresses[0]",
        "'10.0.0.0/24' is the network address of 10.0.0.0/24",
    ),
    (
        "broadcast",
        _with(["team", 0, "addresses"], ["10.0.0.255/24"]),
        "team[0].addresses[0]",
        "'10.0.0.255/24' is the broadcast address of 10.0.0.0/24",
    ),
    (
        "zone",
        _with(["team", 0, "addresses"], ["fe80::1%eth0/64"]),
        "team[0].addresses[0]",
        "'fe80::1%eth0/64': a zone index ('%...') is not allowed here",
    ),
    # MAC addresses
    (
        "bad-mac",
        _with(["team", 0, "mac"], "aa:bb:cc:dd:ee"),
        "team[0].mac",
        "'aa:bb:cc:dd:ee' is not a MAC address; write 'auto' or 'aa:bb:cc:dd:ee:ff'",
    ),
    (
        "mac-dashes",
        _with(["team", 0, "mac"], "aa-bb-cc-dd-ee-ff"),
        "team[0].mac",
        "'aa-bb-cc-dd-ee-ff' is not a MAC address; write 'auto' or 'aa:bb:cc:dd:ee:ff'",
    ),
    (
        "multicast-mac",
        _with(["team", 0, "mac"], "01:00:5E:00:00:01"),
        "team[0].mac",
        "01:00:5e:00:00:01 is a multicast MAC address (group bit set in the first byte); "
        "use a unicast one",
    ),
    (
        "broadcast-mac",
        _with(["team", 0, "mac"], "ff:ff:ff:ff:ff:ff"),
        "team[0].mac",
        "ff:ff:ff:ff:ff:ff is a multicast MAC address (group bit set in the first byte); "
        "use a unicast one",
    ),
    (
        "zero-mac",
        _with(["team", 0, "mac"], "00:00:00:00:00:00"),
        "team[0].mac",
        "00:00:00:00:00:00 is not a usable MAC address",
    ),
    # enumerations and ranks
    (
        "preempt",
        _with(["team", 0, "preempt"], "sometimes"),
        "team[0].preempt",
        "'sometimes' is not a valid preempt mode (always, never)",
    ),
    (
        "preempt-typo",
        _with(["team", 0, "preempt"], "allways"),
        "team[0].preempt",
        "'allways' is not a valid preempt mode (always, never); did you mean 'always'?",
    ),
    (
        "role",
        _with(["team", 0, "member", 1, "role"], "backup"),
        "team[0].member[1].role",
        "'backup' is not a valid role (primary, secondary, standby)",
    ),
    (
        "role-case",
        _with(["team", 0, "member", 1, "role"], "Secondary"),
        "team[0].member[1].role",
        "'Secondary' is not a valid role (primary, secondary, standby); did you mean 'secondary'?",
    ),
    (
        "role-and-priority",
        _with(["team", 0, "member", 1, "priority"], 5),
        "team[0].member[1]",
        "both 'role' and 'priority' are given; use one of them",
    ),
    (
        "priority-high",
        _with(["team", 0, "member"], [{"name": "eth0", "priority": 1001}]),
        "team[0].member[0].priority",
        "1001 is out of range (-1000..1000)",
    ),
    (
        "priority-low",
        _with(["team", 0, "member"], [{"name": "eth0", "priority": -1001}]),
        "team[0].member[0].priority",
        "-1001 is out of range (-1000..1000)",
    ),
    (
        "two-primaries",
        _with(["team", 0, "member", 1, "role"], "primary"),
        "team[0].member[1].role",
        "team[0].member[0].role is already primary; a team has at most one primary",
    ),
    # timers
    (
        "up-delay",
        _with(["team", 0, "carrier"], {"up_delay_ms": -1}),
        "team[0].carrier.up_delay_ms",
        "-1 is out of range (0..60000 ms)",
    ),
    (
        "down-delay",
        _with(["team", 0, "carrier"], {"down_delay_ms": 60_001}),
        "team[0].carrier.down_delay_ms",
        "60001 is out of range (0..60000 ms)",
    ),
    (
        "preempt-delay",
        _with(["team", 0, "preempt_delay_ms"], 3_600_001),
        "team[0].preempt_delay_ms",
        "3600001 is out of range (0..3600000 ms)",
    ),
    (
        "notify-count",
        _with(["team", 0, "notify"], {"count": 101}),
        "team[0].notify.count",
        "101 is out of range (0..100)",
    ),
    (
        "notify-interval",
        _with(["team", 0, "notify"], {"interval_ms": 0}),
        "team[0].notify.interval_ms",
        "0 is out of range (1..10000 ms)",
    ),
    (
        "huge-int",
        _with(["team", 0, "notify"], {"count": 10**100}),
        "team[0].notify.count",
        "a number too large is out of range (0..100)",
    ),
    # VLAN ids
    (
        "vlan-id-high",
        _with(["team", 0, "vlan", 0, "id"], 4095),
        "team[0].vlan[0].id",
        "4095 is not a VLAN id (1-4094)",
    ),
    (
        "vlan-id-zero",
        _with(["team", 0, "vlan", 0, "id"], 0),
        "team[0].vlan[0].id",
        "0 is not a VLAN id (1-4094)",
    ),
]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [pytest.param(d, p, m, id=i) for i, d, p, m in REJECTIONS],
)
def test_rejection(data: dict[str, Any], path: str, message: str) -> None:
    assert problems(data) == [line(path, message)]


def test_vlan_id_out_of_range_names_its_path() -> None:
    data = doc(team(vlan=[{"name": "vadapt1", "id": 10}, {"name": "vadapt2", "id": 5000}]))
    err_lines = problems(data)
    assert "team[0].vlan[1].id: 5000 is not a VLAN id (1-4094)" in err_lines[0]


# --- Rejections across tables: the later occurrence, pointing at the first ----------------


def test_duplicate_team_names() -> None:
    data = doc(team(), team(member=[{"name": "eth2"}]))
    assert problems(data) == [
        line("team[1].name", "'team1' is already used as a team name at team[0].name")
    ]


def test_nic_in_two_teams() -> None:
    data = doc(team(), team(name="team2", member=[{"name": "eth1"}]))
    assert problems(data) == [
        line(
            "team[1].member[0].name",
            "'eth1' is already a member of team 'team1' at team[0].member[1].name; "
            "a NIC can belong to only one team",
        )
    ]


def test_same_member_twice_in_a_team() -> None:
    data = doc(team(member=[{"name": "eth0"}, {"name": "eth1"}, {"name": "eth0"}]))
    assert problems(data) == [
        line(
            "team[0].member[2].name",
            "'eth0' is listed twice in this team (first at team[0].member[0].name)",
        )
    ]


def test_member_named_like_a_team() -> None:
    data = doc(team(member=[{"name": "team1"}]))
    assert problems(data) == [
        line("team[0].member[0].name", "'team1' is already used as a team name at team[0].name")
    ]


def test_team_named_like_an_earlier_member() -> None:
    data = doc(team(), team(name="eth0", member=[{"name": "eth5"}]))
    assert problems(data) == [
        line(
            "team[1].name",
            "'eth0' is already used as a member of team 'team1' at team[0].member[0].name",
        )
    ]


@pytest.mark.parametrize(
    ("vlan_name", "message"),
    [
        ("team1", "'team1' is already used as a team name at team[0].name"),
        ("eth1", "'eth1' is already used as a member of team 'team1' at team[0].member[1].name"),
        ("v1", "'v1' is already used as a VLAN name at team[0].vlan[0].name"),
    ],
)
def test_vlan_named_like_another_interface(vlan_name: str, message: str) -> None:
    data = doc(team(vlan=[{"name": "v1", "id": 1}, {"name": vlan_name, "id": 2}]))
    assert problems(data) == [line("team[0].vlan[1].name", message)]


def test_vlan_named_like_another_teams_vlan() -> None:
    data = doc(
        team(vlan=[{"name": "v1", "id": 1}]),
        team(name="team2", member=[{"name": "eth2"}], vlan=[{"name": "v1", "id": 2}]),
    )
    assert problems(data) == [
        line("team[1].vlan[0].name", "'v1' is already used as a VLAN name at team[0].vlan[0].name")
    ]


def test_duplicate_vlan_id_in_a_team() -> None:
    data = doc(team(vlan=[{"name": "v1", "id": 10}, {"name": "v2", "id": 10}]))
    assert problems(data) == [
        line("team[0].vlan[1].id", "VLAN id 10 is already used at team[0].vlan[0].id")
    ]


def test_same_address_twice_anywhere() -> None:
    data = doc(
        team(
            addresses=["10.0.0.1/24"], vlan=[{"name": "v1", "id": 1, "addresses": ["fd00::1/64"]}]
        ),
        team(
            name="team2",
            member=[{"name": "eth2"}],
            addresses=["fd00:0::1/48"],
            vlan=[{"name": "v2", "id": 1, "addresses": ["10.0.1.5/24", "10.0.0.1/16"]}],
        ),
    )
    assert problems(data) == [
        line(
            "team[1].addresses[0]",
            "address fd00::1 is already configured at team[0].vlan[0].addresses[0]",
        ),
        line(
            "team[1].vlan[0].addresses[1]",
            "address 10.0.0.1 is already configured at team[0].addresses[0]",
        ),
    ]


def test_same_address_twice_in_one_list() -> None:
    data = doc(team(addresses=["10.0.0.1/24", "10.0.0.1/24"]))
    assert problems(data) == [
        line(
            "team[0].addresses[1]", "address 10.0.0.1 is already configured at team[0].addresses[0]"
        )
    ]


# --- All problems at once -----------------------------------------------------------------


def test_all_problems_are_collected_in_one_error() -> None:
    text = """
        [[team]]
        name = "team1"
        mac = "01:02:03:04:05:06"
        preempt = "sometimes"
        addresses = ["192.168.1.1"]
          [team.notify]
          interval = 100
          [[team.member]]
          name = "eth0"
          role = "primary"
          [[team.member]]
          name = "eth0"
          role = "primary"
          [[team.vlan]]
          name = "vadapt1"
          id = 10
          [[team.vlan]]
          name = "vadapt2"
          id = 5000

        [[team]]
        name = "team2"
    """
    assert toml_problems(text) == [
        line(
            "team[0].mac",
            "01:02:03:04:05:06 is a multicast MAC address (group bit set in "
            "the first byte); use a unicast one",
        ),
        line("team[0].preempt", "'sometimes' is not a valid preempt mode (always, never)"),
        line(
            "team[0].addresses[0]",
            "'192.168.1.1' has no prefix length; write it as CIDR, like '192.168.1.1/24'",
        ),
        line("team[0].notify.interval", "unknown key; did you mean 'interval_ms'?"),
        line("team[0].vlan[1].id", "5000 is not a VLAN id (1-4094)"),
        line("team[1].member", "a team needs at least one [[team.member]]"),
        line(
            "team[0].member[1].name",
            "'eth0' is listed twice in this team (first at team[0].member[0].name)",
        ),
        line(
            "team[0].member[1].role",
            "team[0].member[0].role is already primary; a team has at most one primary",
        ),
    ]


def test_error_rendering() -> None:
    err = ConfigError("f.toml", [Problem("", "whole file"), Problem("team[0].name", "bad")])
    assert err.source == "f.toml"
    assert err.problems == [Problem("", "whole file"), Problem("team[0].name", "bad")]
    assert err.lines() == ["f.toml: whole file", "f.toml: team[0].name: bad"]
    assert str(err) == "f.toml: whole file\nf.toml: team[0].name: bad"


def test_non_table_document() -> None:
    assert problems([1, 2]) == [f"{SRC}: expected a table, got an array"]


def test_odd_keys_are_quoted_in_paths() -> None:
    assert problems({**doc(), "a b": 1}) == [
        line('"a b"', "unknown key (known keys: daemon, team)")
    ]


# --- Files --------------------------------------------------------------------------------


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[team]]\nname = "t"\n[[team.member]]\nname = "eth0"\n')
    config = load_config(str(path))
    assert config.source == str(path)
    assert config.teams[0].members[0].name == "eth0"


def test_load_config_reports_problems_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[team]]\nname = "t"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.lines() == [
        f"{path}: team[0].member: a team needs at least one [[team.member]]"
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    assert info.value.lines() == [f"{path}: cannot read the file: No such file or directory"]


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    [only] = info.value.lines()
    assert only.startswith(f"{tmp_path}: cannot read the file: ")


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[team]]\nname = "team1"\nmac = \n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    [only] = info.value.lines()
    assert only.startswith(f"{path}: invalid TOML: ")
    assert "line 3" in only
    assert "column" in only


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[[team]]\nname = "\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    [only] = info.value.lines()
    assert only.startswith(f"{path}: the file is not valid UTF-8 text (byte 17: ")


# --- Property: nothing but Config or ConfigError ------------------------------------------

_scalars = st.one_of(st.integers(), st.text(max_size=20), st.booleans())
_json_like = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

_KEYS = [
    "team",
    "name",
    "mac",
    "addresses",
    "preempt",
    "preempt_delay_ms",
    "carrier",
    "notify",
    "member",
    "vlan",
    "role",
    "priority",
    "id",
    "up_delay_ms",
    "down_delay_ms",
    "count",
    "interval_ms",
]
_WORDS = [
    "eth0",
    "eth1",
    "team1",
    "auto",
    "primary",
    "secondary",
    "standby",
    "always",
    "never",
    "10.0.0.1/24",
    "10.0.0.1",
    "fd00::1/64",
    "aa:bb:cc:dd:ee:ff",
    "01:00:00:00:00:00",
    "",
    "fe80::1%eth0/64",
    "224.0.0.1/4",
]
_near_valid_scalars = st.one_of(
    st.integers(-2000, 5000), st.sampled_from(_WORDS), st.booleans(), st.floats(), _scalars
)
_near_valid = st.recursive(
    _near_valid_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=5), children, max_size=6)
    ),
    max_leaves=30,
)


def _only_config_or_config_error(data: Any) -> None:
    try:
        result = parse_config(data, SRC)
    except ConfigError as err:
        assert err.problems
        assert all(isinstance(text, str) for text in err.lines())
    else:
        assert isinstance(result, Config)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=10), _json_like, max_size=4))
def test_random_documents_give_config_or_config_error(data: dict[str, Any]) -> None:
    _only_config_or_config_error(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_KEYS), _near_valid, max_size=3))
def test_near_valid_documents_give_config_or_config_error(data: dict[str, Any]) -> None:
    _only_config_or_config_error(data)


@st.composite
def _valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A document that passes validation, with random (valid) choices everywhere."""
    teams = []
    for t in range(draw(st.integers(1, 3))):
        members = []
        roles = st.sampled_from(["secondary", "standby"])
        for m in range(draw(st.integers(1, 3))):
            member: dict[str, Any] = {"name": f"eth{t}{m}"}
            choice = draw(st.sampled_from(["role", "priority", "primary", "none"]))
            if choice == "role":
                member["role"] = draw(roles)
            elif choice == "priority":
                member["priority"] = draw(st.integers(-1000, 1000))
            elif choice == "primary" and m == 0:
                member["role"] = "primary"
            members.append(member)
        vlan_ids = draw(st.lists(st.integers(1, 4094), max_size=3, unique=True))
        vlans = [
            {"name": f"v{t}.{vid}", "id": vid, "addresses": [f"10.{t}.{v}.1/24"]}
            for v, vid in enumerate(vlan_ids)
        ]
        team: dict[str, Any] = {"name": f"team{t}", "member": members, "vlan": vlans}
        optional = {
            "mac": st.sampled_from(["auto", "02:00:00:00:00:0a", "AA:BB:CC:DD:EE:FF"]),
            "addresses": st.just([f"fd00:{t}::1/64"]),
            "preempt": st.sampled_from(["always", "never"]),
            "preempt_delay_ms": st.integers(0, 3_600_000),
            "carrier": st.fixed_dictionaries({}, optional={"up_delay_ms": st.integers(0, 60_000)}),
            "notify": st.fixed_dictionaries({}, optional={"count": st.integers(0, 100)}),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                team[key] = draw(strategy)
        teams.append(team)
    return {"team": teams}


def _places(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a document, so a test can change any one of them."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        found.append((node, key))
        if isinstance(value, dict | list) and value:
            found.extend(_places(value))
    return found


@settings(max_examples=100, deadline=None)
@given(_valid_documents())
def test_generated_valid_documents_parse(data: dict[str, Any]) -> None:
    assert isinstance(parse_config(data), Config)


@settings(max_examples=300, deadline=None)
@given(_valid_documents(), st.data())
def test_mutated_documents_give_config_or_config_error(data: dict[str, Any], draw: Any) -> None:
    places = _places(data)
    for _ in range(draw.draw(st.integers(1, 3))):
        node, key = draw.draw(st.sampled_from(places))
        if isinstance(node, dict) and draw.draw(st.booleans()):
            node.pop(key, None)
        elif key in node or isinstance(node, list):
            node[key] = draw.draw(_near_valid)
    _only_config_or_config_error(data)


# --- Path probing tables ------------------------------------------------------------------


def probing_team(**tables: Any) -> dict[str, Any]:
    return team(vlan=[{"name": "vadapt1", "id": 10}, {"name": "vadapt2", "id": 15}], **tables)


def test_probe_tables_load_with_defaults() -> None:
    config = parse_config(
        doc(
            probing_team(
                arp={"targets": [{"ip": "192.168.1.254", "vlan": 10}, {"ip": "10.0.0.1"}]},
                ns={"targets": [{"ip": "fd00:10::fe", "vlan": 10}], "policy": "all", "rise": 1},
            )
        )
    )
    arp, ns = config.teams[0].arp, config.teams[0].ns
    assert arp == ProbeConfig(
        targets=(
            ProbeTarget(IPv4Address("192.168.1.254"), 10),
            ProbeTarget(IPv4Address("10.0.0.1"), None),
        ),
        interval_ms=100,
        missed_max=3,
        rise=2,
        policy=PathPolicy.ANY,
    )
    assert ns is not None and ns.policy is PathPolicy.ALL and ns.rise == 1
    assert config.teams[0].probes == (arp, ns)
    assert parse_config(doc()).teams[0].probes == ()


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        (
            {"arp": {"targets": [{"ip": "192.168.1.254", "vlan": 20}]}},
            (
                "team[0].arp.targets[0].vlan",
                "VLAN 20 is not a VLAN of this team (its VLANs: 10, 15)",
            ),
        ),
        (
            {"arp": {"targets": [{"ip": "fd00::1"}]}},
            ("team[0].arp.targets[0].ip", "'fd00::1' is not an IPv4 address (use [team.ns])"),
        ),
        (
            {"ns": {"targets": [{"ip": "10.0.0.1"}]}},
            ("team[0].ns.targets[0].ip", "'10.0.0.1' is not an IPv6 address (use [team.arp])"),
        ),
        (
            {"arp": {"targets": [{"ip": "224.0.0.1"}]}},
            (
                "team[0].arp.targets[0].ip",
                "'224.0.0.1' is a multicast address; it cannot be probed",
            ),
        ),
        ({"arp": {"targets": []}}, ("team[0].arp.targets", "at least one target is required")),
        (
            {"arp": {"interval_ms": 5, "targets": [{"ip": "10.0.0.1"}]}},
            ("team[0].arp.interval_ms", "5 is out of range (10..60000 ms)"),
        ),
        (
            {"arp": {"missed_max": 0, "targets": [{"ip": "10.0.0.1"}]}},
            ("team[0].arp.missed_max", "0 is out of range (1..100)"),
        ),
        (
            {"arp": {"policy": "most", "targets": [{"ip": "10.0.0.1"}]}},
            ("team[0].arp.policy", "'most' is not a valid path policy (any, all)"),
        ),
        (
            {"arp": {"intervall_ms": 100, "targets": [{"ip": "10.0.0.1"}]}},
            ("team[0].arp.intervall_ms", "unknown key; did you mean 'interval_ms'?"),
        ),
        ({"arp": {}}, ("team[0].arp.targets", "required key is missing")),
        (
            {"arp": {"targets": [{"ip": "10.0.0.1", "vlan": 10}, {"ip": "10.0.0.1", "vlan": 10}]}},
            (
                "team[0].arp.targets[1]",
                "the same target is already listed at team[0].arp.targets[0]",
            ),
        ),
    ],
)
def test_probe_tables_reject_with_key_paths(tables: dict[str, Any], expected: tuple[str, str]):
    assert problems(doc(probing_team(**tables))) == [line(*expected)]
