"""Tests for the importers: ianscfg scripts and teamd JSON configs become loadable TOML."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamd_py.cli import main
from teamd_py.config import (
    CarrierConfig,
    MemberConfig,
    NotifyConfig,
    Preempt,
    ProbeConfig,
    ProbeTarget,
    Role,
    TeamConfig,
    VlanConfig,
    load_config,
    parse_config,
)
from teamd_py.importers import ImporterError, ImportResult, import_ianscfg, import_teamd
from teamd_py.importers.common import netmask_prefix, toml_string

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
EXAMPLE = ROOT / "config.example.toml"
SEED = DATA / "seed_ianscfg.sh"


def ianscfg(name: str) -> ImportResult:
    return import_ianscfg((DATA / name).read_text(), name)


def teamd(name: str) -> ImportResult:
    return import_teamd((DATA / name).read_text(), name)


def only_team(result: ImportResult) -> TeamConfig:
    (team,) = result.config.teams
    return team


def reloaded(result: ImportResult) -> TeamConfig:
    """The team the generated text loads as, parsed afresh (not the importer's own check)."""
    (team,) = parse_config(tomllib.loads(result.text)).teams
    return team


def member(name: str, priority: int) -> MemberConfig:
    return MemberConfig(name=name, priority=priority, role=None)


def role(name: str, rank: Role) -> MemberConfig:
    return MemberConfig(name=name, priority=rank.priority, role=rank)


# --- ianscfg ------------------------------------------------------------------------------


def test_the_seed_script_imports_to_the_example_team(tmp_path: Path) -> None:
    result = import_ianscfg(SEED.read_text(), str(SEED))
    assert result.warnings == ()
    assert result.summary is None
    example = load_config(EXAMPLE).team("team1")
    # The example adds path probing and a hook, which the seed script does not have.
    expected = dataclasses.replace(example, arp=None, ns=None, hook=None)
    assert reloaded(result) == expected
    out = tmp_path / "seed.toml"
    out.write_text(result.text)
    assert load_config(out).teams == (expected,)
    assert expected.members == (role("eth0", Role.PRIMARY), role("eth1", Role.SECONDARY))
    assert [(v.name, v.id, v.addresses) for v in expected.vlans] == [
        ("vadapt1", 10, (IPv4Interface("192.168.1.1/24"),)),
        ("vadapt2", 15, (IPv4Interface("192.168.2.1/24"),)),
    ]


def test_the_seed_output_names_its_source_and_each_line() -> None:
    text = import_ianscfg(SEED.read_text(), "seed.sh").text
    assert text.startswith("# teamd-py configuration imported from the ianscfg script seed.sh.")
    lines = text.splitlines()
    assert 'name = "team1"                  # line 1: ianscfg -a -t team1 -M AFT -V' in lines
    assert '  role = "primary"              # line 2: ianscfg -at team1 -m eth0 -p primary' in lines
    assert (
        '    "192.168.1.1/24",           # line 8: ifconfig vadapt1 192.168.1.1 netmask '
        "255.255.255.0" in lines
    )
    assert (
        "# line 6: ianscfg -c team1: no commit step: the daemon applies the whole file as one unit"
        in lines
    )
    assert "# line 7: ianscfg -s: no save step: this file is the saved configuration" in lines
    assert "# not imported:" not in text


def test_a_script_with_two_teams() -> None:
    result = ianscfg("ianscfg_two_teams.sh")
    assert result.warnings == ()
    stor0, front = parse_config(tomllib.loads(result.text)).teams
    assert stor0 == TeamConfig(
        name="stor0",
        addresses=(IPv4Interface("10.20.0.5/16"),),
        members=(role("enp3s0f0", Role.PRIMARY), role("enp3s0f1", Role.SECONDARY)),
    )
    assert front == TeamConfig(
        name="front",
        mac="02:00:5e:10:00:01",
        members=(
            role("eno1", Role.PRIMARY),
            role("eno2", Role.SECONDARY),
            role("eno3", Role.STANDBY),  # the continued line, with no -p
        ),
        vlans=(
            VlanConfig("front.100", 100, (IPv4Interface("172.16.100.10/24"),)),
            VlanConfig("front.200", 200, (IPv6Interface("fd00:200::10/64"),)),
        ),
    )
    assert "# line 3: modprobe ians: the ANS driver is not needed" in result.text


MISTAKES_WARNINGS = [
    "ianscfg_mistakes.sh:2: team mode -M ALB does not map: load balancing has no equivalent "
    "(teamd-py carries the traffic on one member at a time); imported as an AFT team",
    "ianscfg_mistakes.sh:4: second primary eth1 does not map: team1 already has the primary eth0 "
    "(line 3); imported as standby",
    "ianscfg_mistakes.sh:5: VLAN adapter vadapt9 does not map: team team2 is not created by an "
    "earlier 'ianscfg -a -t team2 -M AFT' line",
    "ianscfg_mistakes.sh:6: VLAN id -i 5000 does not map: not a VLAN id (1-4094)",
    "ianscfg_mistakes.sh:8: netmask 255.255.0.255 does not map: 255.255.0.255 is not a contiguous "
    "netmask (its one bits must come first); the address 192.168.20.1 is not imported",
    "ianscfg_mistakes.sh:9: ifconfig vadapt3 does not map: vadapt3 is neither a team nor a VLAN "
    "adapter created above",
    "ianscfg_mistakes.sh:10: ianscfg option -r (remove) does not map: removals are not replayed: "
    "the output has what the script adds, so leave the removed part out of it by hand",
    "ianscfg_mistakes.sh:11: ianscfg option -x team1 does not map: not an ianscfg option the "
    "importer knows; the line is left out",
    "ianscfg_mistakes.sh:12: ifconfig eth0 does not map: eth0 is a member of team1: its own "
    "settings and addresses do not survive enslaving (put addresses on the team or a VLAN "
    "adapter)",
    "ianscfg_mistakes.sh:13: command route add default gw 192.168.20.254 does not map: only "
    "ianscfg and ifconfig lines are imported",
]


def test_a_script_with_mistakes_warns_per_line_and_keeps_the_rest() -> None:
    result = ianscfg("ianscfg_mistakes.sh")
    assert list(result.warnings) == MISTAKES_WARNINGS
    assert result.summary == "10 lines did not map"
    assert reloaded(result) == TeamConfig(
        name="team1",
        members=(role("eth0", Role.PRIMARY), role("eth1", Role.STANDBY)),
        vlans=(VlanConfig("vadapt2", 20),),
    )
    for warning in MISTAKES_WARNINGS:
        assert f"# not imported: {warning}" in result.text.splitlines()


def script(*lines: str) -> ImportResult:
    return import_ianscfg("\n".join(lines) + "\n", "s.sh")


BASE = ["ianscfg -a -t team1 -M AFT", "ianscfg -at team1 -m eth0 -p primary"]


def test_a_script_without_a_team_is_unusable() -> None:
    with pytest.raises(ImporterError) as info:
        script("#!/bin/sh", "# nothing here", "ifconfig eth0 10.0.0.1 netmask 255.0.0.0")
    assert str(info.value) == "s.sh: no team: the script has no 'ianscfg -a -t TEAM -M AFT' line"
    assert info.value.warnings == (
        "s.sh:3: ifconfig eth0 does not map: eth0 is neither a team nor a VLAN adapter created "
        "above",
    )


def test_a_team_without_members_is_unusable_and_named_with_its_line() -> None:
    with pytest.raises(ImporterError) as info:
        script("ianscfg -a -t team1 -M AFT", "ianscfg -at team1 -n eth0")
    assert info.value.line == 1
    assert str(info.value) == (
        "s.sh:1: no members: no 'ianscfg -at TEAM -m NIC' line for team1 (line 1)"
    )
    assert info.value.warnings == (
        "s.sh:2: ianscfg option -n eth0 does not map: not an ianscfg option the importer knows; "
        "the line is left out",
    )


def test_a_team_without_members_beside_a_good_one_is_left_out() -> None:
    result = script(*BASE, "ianscfg -a -t team2 -M AFT", "ianscfg -at team2 -v v9 -i 9")
    assert [t.name for t in result.config.teams] == ["team1"]
    assert result.warnings == (
        "s.sh:3: team team2 does not map: it has no members (no 'ianscfg -at team2 -m NIC' "
        "line); it and its 1 VLAN are left out",
    )


def test_a_vlan_adapter_for_an_unknown_team() -> None:
    result = script(*BASE, "ianscfg -at tem1 -v vadapt1 -i 10")
    assert result.warnings == (
        "s.sh:3: VLAN adapter vadapt1 does not map: team tem1 is not created by an earlier "
        "'ianscfg -a -t tem1 -M AFT' line",
    )
    assert only_team(result).vlans == ()


@pytest.mark.parametrize(
    ("line", "warning"),
    [
        (
            "ifconfig v1 10.1.1.1 netmask 255.255.0.255",
            "s.sh:4: netmask 255.255.0.255 does not map: 255.255.0.255 is not a contiguous "
            "netmask (its one bits must come first); the address 10.1.1.1 is not imported",
        ),
        (
            "ifconfig v1 10.1.1.1 netmask 255.255.255.256",
            "s.sh:4: netmask 255.255.255.256 does not map: '255.255.255.256' is not a dotted "
            "IPv4 netmask; the address 10.1.1.1 is not imported",
        ),
        (
            "ifconfig v1 10.1.1.1",
            "s.sh:4: address 10.1.1.1 does not map: without a netmask ifconfig takes a classful "
            "default; give 'netmask MASK' or ADDRESS/PREFIX",
        ),
        (
            "ifconfig v1 10.1.1.0 netmask 255.255.255.0",
            "s.sh:4: address 10.1.1.0/24 does not map: '10.1.1.0/24' is the network address of "
            "10.1.1.0/24",
        ),
        (
            "ifconfig v1 inet6 add fd00::1",
            "s.sh:4: address fd00::1 does not map: an IPv6 address needs its prefix length "
            "(ADDRESS/PREFIX)",
        ),
        (
            "ifconfig v1 10.1.1.1/24 mtu 9000",
            "s.sh:4: ifconfig setting mtu 9000 does not map: teamd-py does not set the MTU",
        ),
        (
            "ifconfig v1 hw ether 02:00:00:00:00:01",
            "s.sh:4: hw ether 02:00:00:00:00:01 does not map: a VLAN adapter has the MAC of its "
            "team; set it on team1",
        ),
        (
            "ianscfg -at team1 -v v2 -i 7",
            "s.sh:4: VLAN adapter v2 (VLAN 7) does not map: team1 already has VLAN 7 (v1, line 3)",
        ),
        (
            "ianscfg -at team1 -m v1",
            "s.sh:4: member v1 does not map: v1 is already a VLAN adapter of team1 (line 3)",
        ),
        (
            "ianscfg -at team1 -m eth1 -p tertiary",
            "s.sh:4: priority -p tertiary does not map: only primary and secondary exist; "
            "imported as standby",
        ),
        (
            "ianscfg -at team1 -m eth/1",
            "s.sh:4: member 'eth/1' does not map: 'eth/1' is not a valid interface name: it "
            "contains '/'",
        ),
        (
            "ianscfg -a -t $TEAM -M AFT",
            "s.sh:4: ianscfg -a -t $TEAM -M AFT ($TEAM) does not map: the script is not run, so "
            "shell expansions are unknown; write the values in",
        ),
        (
            "ianscfg -s | tee log",
            "s.sh:4: line 'ianscfg -s | tee log' does not map: shell syntax '|': only simple "
            "commands (; and &&) are read",
        ),
        (
            "ianscfg -at team1 -m 'eth1",
            's.sh:4: line "ianscfg -at team1 -m \'eth1" does not map: No closing quotation',
        ),
    ],
)
def test_a_bad_line_warns_with_its_number(line: str, warning: str) -> None:
    result = script(*BASE, "ianscfg -at team1 -v v1 -i 7", line)
    assert result.warnings == (warning,)
    assert result.summary == "1 line did not map"


def test_ifconfig_forms_that_map() -> None:
    result = script(
        *BASE,
        "ianscfg -at team1 -v v1 -i 7",
        "ifconfig v1 inet 10.1.1.1 netmask 255.255.255.128 broadcast 10.1.1.127 up",
        "ifconfig v1:0 10.1.2.1/24",
        "ifconfig v1 inet6 add fd00:7::1/64",
        "ifconfig team1 192.0.2.10/28 hw ether 02:AA:00:00:00:01",
        "ifconfig team1 192.0.2.11/28",  # replaces .10, as ifconfig would
        "ifconfig eth0 up",
    )
    assert result.warnings == ()
    team = reloaded(result)
    assert team.vlans[0].addresses == (
        IPv4Interface("10.1.1.1/25"),
        IPv4Interface("10.1.2.1/24"),
        IPv6Interface("fd00:7::1/64"),
    )
    assert team.addresses == (IPv4Interface("192.0.2.11/28"),)
    assert team.mac == "02:aa:00:00:00:01"


def test_continuations_comments_and_separators() -> None:
    result = script(
        "#!/bin/sh",
        "ianscfg -a \\",
        "  -t team1 -M AFT   # the team",
        "ianscfg -at team1 -m eth0 -p primary && ianscfg -at team1 -m eth1 -p secondary",
        "ianscfg -c team1 > /dev/null 2>&1; ianscfg -s",
    )
    assert result.warnings == ()
    assert reloaded(result).members == (role("eth0", Role.PRIMARY), role("eth1", Role.SECONDARY))
    assert 'name = "team1"                  # line 2: ianscfg -a -t team1 -M AFT # the team' in (
        result.text.splitlines()
    )


def test_names_are_quoted_for_toml() -> None:
    result = script(*BASE, "ianscfg -at team1 -v 'v\"\\1' -i 7")
    assert reloaded(result).vlans[0].name == 'v"\\1'
    assert toml_string('a"b\\c\td\x01') == '"a\\"b\\\\c\\td\\u0001"'


def test_netmask_prefix() -> None:
    assert netmask_prefix("255.255.255.0") == 24
    assert netmask_prefix("0.0.0.0") == 0
    assert netmask_prefix("255.255.255.255") == 32
    for bad in ("0.0.0.255", "255.0.255.0", "255.255.255", "nope"):
        with pytest.raises(ValueError):
            netmask_prefix(bad)


# --- teamd --------------------------------------------------------------------------------


def test_teamd_ethtool_delays_notify_and_notes() -> None:
    result = teamd("teamd_ethtool.json")
    assert result.warnings == (
        "teamd_ethtool.json: link_watch.delay_up 2000: teamd-py has one up_delay_ms per team: "
        "the largest, 2500 (ports.ens2.link_watch.delay_up), is used",
    )
    assert result.summary == "1 setting did not map"
    assert reloaded(result) == TeamConfig(
        name="team0",
        carrier=CarrierConfig(up_delay_ms=2500, down_delay_ms=100),
        notify=NotifyConfig(count=2, interval_ms=50),
        members=(member("ens1", 100), member("ens2", 50)),
    )
    assert '# runner.hwaddr_policy = "same_all": the default' in result.text
    assert "# debug_level = 1: ignored" in result.text


def test_teamd_arp_ping_with_several_targets() -> None:
    result = teamd("teamd_arp_targets.json")
    assert result.warnings == (
        'teamd_arp_targets.json: link_watch[1].source_host "198.51.100.10": no equivalent '
        "(teamd-py probes from the team's own address, and from 0.0.0.0 on standbys)",
        "teamd_arp_targets.json: link_watch[2].vlanid 30: teamd-py probes through a VLAN of the "
        "team, and teamd configs have none: the target is probed untagged (see the comment at "
        "[team.arp])",
    )
    targets = tuple(
        ProbeTarget(IPv4Address(ip)) for ip in ("198.51.100.1", "198.51.100.2", "203.0.113.1")
    )
    # teamd's missed_max 2 fails a port at the third missed reply: teamd-py's 3.
    arp = ProbeConfig(targets=targets, interval_ms=200, missed_max=3)
    assert reloaded(result) == TeamConfig(
        name="team0", members=(member("eth2", 10), member("eth3", 0)), arp=arp
    )
    lines = result.text.splitlines()
    assert (
        "  # teamd probed 203.0.113.1 tagged with VLAN 30. To do the same, add that VLAN to "
        "the team and tag the target:" in lines
    )
    assert '  # and in targets: { ip = "203.0.113.1", vlan = 30 }' in lines
    assert any("send_always = true: no equivalent needed" in line for line in lines)
    assert any("validate_active = true: teamd-py always validates" in line for line in lines)


def test_teamd_nsna_ping() -> None:
    result = teamd("teamd_nsna.json")
    assert result.warnings == (
        'teamd_nsna.json: mcast_rejoin {"count": 1}: no equivalent (teamd-py sends no multicast '
        "rejoin reports after a switch)",
    )
    ns = ProbeConfig(
        targets=(ProbeTarget(IPv6Address("2001:db8:6::1")),), interval_ms=150, missed_max=6
    )
    assert reloaded(result) == TeamConfig(
        name="team6", members=(member("p1p1", 20), member("p1p2", 10)), ns=ns
    )
    assert "# link_watch.init_wait = 1000: not needed" in result.text


def test_teamd_sticky_and_prio() -> None:
    result = teamd("teamd_sticky_prio.json")
    assert result.warnings == (
        "teamd_sticky_prio.json: ports.em2.prio 5000: out of teamd-py's range (-1000..1000); "
        "imported as 1000",
        "teamd_sticky_prio.json: ports.em1.queue_id 4: no equivalent (teamd-py sets no queue ids)",
        "teamd_sticky_prio.json: ports.em1.sticky true: stickiness is per team in teamd-py "
        '(preempt = "never"), so em2, em3 (not sticky in teamd) keep the traffic too',
    )
    assert reloaded(result) == TeamConfig(
        name="bond-web",
        preempt=Preempt.NEVER,
        members=(member("em2", 1000), member("em1", -10), member("em3", 100)),  # JSON order
    )
    assert "teamd's sticky is per port" in result.text


def test_teamd_every_port_sticky_is_a_note_only() -> None:
    config = {
        "device": "team0",
        "runner": {"name": "activebackup"},
        "ports": {"eth0": {"sticky": True}, "eth1": {"sticky": True, "prio": 5}},
    }
    result = import_teamd(json.dumps(config), "s.json")
    assert result.warnings == ()
    assert reloaded(result).preempt is Preempt.NEVER
    assert 'preempt = "never"               # ports.eth0.sticky = true' in result.text


def test_teamd_hwaddr_and_what_has_no_equivalent() -> None:
    result = teamd("teamd_hwaddr.json")
    assert result.warnings == (
        'teamd_hwaddr.json: runner.hwaddr_policy "by_active": no equivalent (teamd-py keeps one '
        "logical MAC)",
        "teamd_hwaddr.json: gsc_frequency 3: unknown key (not a teamd.conf option)",
        'teamd_hwaddr.json: link_watch[1].name "tipc": no equivalent (teamd-py watches carrier, '
        "and ARP and NS paths)",
    )
    assert result.summary == "3 settings did not map"
    assert reloaded(result) == TeamConfig(
        name="team9", mac="02:1a:2b:3c:4d:5e", members=(member("eth4", 1), member("eth5", 1))
    )
    assert "# ports.eth5.lacp_prio: an LACP option; activebackup ignores it too" in result.text


def test_teamd_per_port_targets_and_arp_with_ns() -> None:
    config = {
        "device": "team0",
        "runner": {"name": "activebackup"},
        "link_watch": [
            {"name": "ethtool"},
            {"name": "nsna_ping", "target_host": "2001:db8::1", "interval": 100},
        ],
        "ports": {
            "eth0": {
                "link_watch": {"name": "arp_ping", "target_host": "192.0.2.1", "interval": 50}
            },
            "eth1": {"link_watch": {"name": "arp_ping", "target_host": "gw", "interval": 50}},
            "bad/name": {},
        },
    }
    result = import_teamd(json.dumps(config), "p.json")
    assert result.warnings == (
        "p.json: ports.\"bad/name\" {}: 'bad/name' is not a valid interface name: it contains '/'",
        'p.json: ports.eth1.link_watch.target_host "gw": teamd resolved host names; teamd-py '
        "needs an address; the watcher is left out",
        'p.json: ports.eth0.link_watch.target_host "192.0.2.1": teamd probed it from eth0 only; '
        "teamd-py probes every target from every member",
        'p.json: link_watch[1].name "nsna_ping": with arp_ping too: teamd counts a port up when '
        "either answers; teamd-py needs the paths of both [team.arp] and [team.ns] up",
    )
    team = reloaded(result)
    assert team.arp == ProbeConfig((ProbeTarget(IPv4Address("192.0.2.1")),), 50, missed_max=4)
    assert team.ns == ProbeConfig((ProbeTarget(IPv6Address("2001:db8::1")),), 100, missed_max=4)
    assert "teamd-py needs carrier and a working path" in result.text


def test_teamd_broken_json_names_line_and_column() -> None:
    with pytest.raises(ImporterError) as info:
        import_teamd('{\n  "device": "team0",\n  "ports": {,}\n}\n', "bad.json")
    assert (info.value.line, info.value.column) == (3, 13)
    assert str(info.value) == (
        "bad.json:3:13: invalid JSON: Expecting property name enclosed in double quotes"
    )


def test_teamd_lacp_runner_is_unusable() -> None:
    with pytest.raises(ImporterError) as info:
        teamd("teamd_lacp.json")
    assert str(info.value) == (
        'teamd_lacp.json: runner.name "lacp": teamd-py does adapter fault tolerance, the '
        "activebackup runner, only; it does not do the broadcast, roundrobin, random, "
        "loadbalance or lacp runners"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[1, 2]", "c.json: not a teamd config: the file is not a JSON object"),
        (
            '{"runner": {"name": "activebackup"}, "ports": {"eth0": {}}}',
            "c.json: device: missing: a team needs a name (teamd may have had it from its -t "
            "option)",
        ),
        (
            '{"device": "team0", "ports": {"eth0": {}}}',
            "c.json: runner.name: missing: teamd's default runner is roundrobin; teamd-py does "
            "the activebackup runner only",
        ),
        (
            '{"device": "team0", "runner": {"name": "activebackup"}, "ports": {}}',
            "c.json: ports {}: no members: teamd-py needs the ports in the config (teamd could "
            "also get them later, from teamdctl)",
        ),
    ],
)
def test_teamd_unusable_configs(config: str, message: str) -> None:
    with pytest.raises(ImporterError) as info:
        import_teamd(config, "c.json")
    assert str(info.value) == message


# --- the command line ---------------------------------------------------------------------


def test_cli_prints_toml_on_stdout_and_warnings_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = DATA / "ianscfg_mistakes.sh"
    assert main(["import", "ianscfg", str(path)]) == 0
    out, err = capsys.readouterr()
    assert parse_config(tomllib.loads(out)).teams[0].name == "team1"
    lines = err.splitlines()
    assert lines[-1] == "10 lines did not map"
    assert lines[:-1] == [w.replace("ianscfg_mistakes.sh", str(path), 1) for w in MISTAKES_WARNINGS]


def test_cli_writes_a_file_refuses_to_overwrite_and_check_accepts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported.toml"
    assert main(["import", "ianscfg", str(SEED), "-o", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert stdout == ""
    assert stderr == f"teamd-py import: wrote {out}: team1 (2 members, 2 VLANs)\n"
    first = out.read_text()
    assert main(["check", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}: OK: team1 (2 members, 2 VLANs)\n"

    assert main(["import", "teamd", str(DATA / "teamd_nsna.json"), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"teamd-py import: {out} exists; give --force to replace it\n"
    )
    assert out.read_text() == first

    assert main(["import", "teamd", str(DATA / "teamd_nsna.json"), "-o", str(out), "--force"]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "1 setting did not map"
    assert load_config(out).teams[0].name == "team6"
    assert main(["check", str(out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["imported.toml"]


def test_cli_unusable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lacp = DATA / "teamd_lacp.json"
    assert main(["import", "teamd", str(lacp)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f'{lacp}: runner.name "lacp": teamd-py does adapter fault tolerance')
    binary = tmp_path / "binary.sh"
    binary.write_bytes(b"ianscfg -a -t team1 -M AFT\n\xff\n")
    assert main(["import", "ianscfg", str(binary)]) == 2
    assert capsys.readouterr().err == f"{binary}:2: not UTF-8 text (invalid start byte)\n"
    assert main(["import", "ianscfg", str(tmp_path / "missing.sh")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


# --- robustness ---------------------------------------------------------------------------

WORDS = [
    "ianscfg", "/sbin/ianscfg", "ifconfig", "-a", "-t", "-at", "-m", "-p", "-M", "-v", "-i",
    "-c", "-s", "-V", "-r", "-x", "--help", "team1", "team2", "eth0", "eth1", "vadapt1",
    "vadapt1:0", "primary", "secondary", "AFT", "ALB", "10", "0", "4095", "192.168.1.1",
    "192.168.1.1/24", "fd00::1/64", "netmask", "255.255.255.0", "255.0.255.0", "broadcast",
    "up", "down", "inet6", "add", "hw", "ether", "02:00:00:00:00:01", "mtu", ";", "&&", "|",
    ">", "2>&1", "\\", "#", "'", '"', "$X", "A=b", "x" * 20,
]  # fmt: skip
LINE = st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=10).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, max_size=12), st.sampled_from(["\n", "\r\n", "\\\n"]), st.booleans())
def test_random_scripts_never_crash_the_importer(
    lines: list[str], newline: str, with_team: bool
) -> None:
    """Only ImporterError may come out; anything that does come out loads."""
    try:
        result = import_ianscfg(newline.join([*BASE, *lines] if with_team else lines), "r.sh")
    except ImporterError as exc:
        assert str(exc).startswith("r.sh")
        return
    assert parse_config(tomllib.loads(result.text)).teams == result.config.teams
    assert all(w.startswith("r.sh:") and " does not map: " in w for w in result.warnings)
