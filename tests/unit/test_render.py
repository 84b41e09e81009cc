"""Tests for the human views of control results: fixed documents in, exact text out."""

from __future__ import annotations

import json
from typing import Any

from teamd_py.control.render import render_event, render_reload, render_state, render_switch

TEAM1: dict[str, Any] = {
    "state": "degraded",
    "mac": "02:00:5e:00:00:01",
    "active": "eth1",
    "override": {"member": "eth1", "forced": True},
    "switches": 3,
    "last_switch": {
        "time": "2026-12-01T12:00:00Z",
        "from": "eth0",
        "to": "eth1",
        "reason": "active_down",
        "decision_ms": 4.8,
    },
    "members": {
        "eth0": {
            "state": "failed",
            "role": "primary",
            "priority": 200,
            "carrier": True,
            "health": "up",
            "path": "down",
            "targets": [
                {
                    "ip": "192.168.1.254",
                    "vlan": 10,
                    "up": False,
                    "missed": 4,
                    "rtt_ms": None,
                    "last_reply_age_ms": 1450.0,
                },
                {"ip": "fe80::1", "vlan": None, "up": None, "missed": 0, "rtt_ms": None},
            ],
        },
        "eth1": {
            "state": "active",
            "role": "secondary",
            "priority": 100,
            "carrier": True,
            "health": "up",
            "path": "up",
            "targets": [
                {"ip": "192.168.1.254", "vlan": 10, "up": True, "missed": 0, "rtt_ms": 0.35},
            ],
        },
    },
}

TEAM2: dict[str, Any] = {
    "state": "down",
    "mac": None,
    "active": None,
    "override": None,
    "switches": 0,
    "last_switch": None,
    "members": {
        "eth2": {
            "state": "absent",
            "role": None,
            "priority": 150,
            "carrier": None,
            "health": "absent",
            "path": None,
            "targets": [],
        },
    },
}


def test_a_team_with_an_override_and_probed_paths() -> None:
    assert render_state({"teams": {"team1": TEAM1}}) == (
        "team1: degraded, active eth1, MAC 02:00:5e:00:00:01\n"
        "  override: eth1 pinned (forced)\n"
        "  last switch: 2026-12-01T12:00:00Z eth0 -> eth1 (active_down, decided in 4.8 ms); "
        "3 switches\n"
        "  eth0: failed\n"
        "    role: primary, priority 200\n"
        "    carrier: up, health: up, path: down\n"
        "    target 192.168.1.254 vlan 10: down, missed 4, rtt -\n"
        "    target fe80::1: unknown, missed 0, rtt -\n"
        "  eth1: active\n"
        "    role: secondary, priority 100\n"
        "    carrier: up, health: up, path: up\n"
        "    target 192.168.1.254 vlan 10: up, missed 0, rtt 0.35 ms"
    )


def test_teams_keep_their_order_and_are_separated_by_a_blank_line() -> None:
    text = render_state({"teams": {"team2": TEAM2, "team1": TEAM1}})
    assert text.startswith(
        "team2: down, no active member\n"
        "  last switch: never\n"
        "  eth2: absent\n"
        "    priority: 150\n"
        "    carrier: unknown, health: absent, path: not probed\n"
        "\n"
        "team1: degraded, active eth1, MAC 02:00:5e:00:00:01\n"
    )


def test_the_same_state_always_renders_the_same() -> None:
    state = {"teams": {"team1": TEAM1, "team2": TEAM2}}
    assert render_state(state) == render_state(json.loads(json.dumps(state)))


def test_a_first_switch_and_whole_milliseconds() -> None:
    team = {
        **TEAM2,
        "state": "up",
        "active": "eth2",
        "switches": 1,
        "last_switch": {
            "time": "2026-12-01T12:00:00Z",
            "from": None,
            "to": "eth2",
            "reason": "start",
            "decision_ms": 12.0,
        },
    }
    assert render_state({"teams": {"team2": team}}).splitlines()[:2] == [
        "team2: up, active eth2",
        "  last switch: 2026-12-01T12:00:00Z - -> eth2 (start, decided in 12 ms); 1 switch",
    ]


def test_missing_keys_print_as_unknown() -> None:
    assert render_state({"teams": {"team9": {"members": {"eth9": {}}}}}) == (
        "team9: unknown, no active member\n"
        "  last switch: never\n"
        "  eth9: unknown\n"
        "    priority: unknown\n"
        "    carrier: unknown, health: unknown, path: not probed"
    )


def test_no_teams() -> None:
    assert render_state({"teams": {}}) == "no teams"


def test_switch_results() -> None:
    pinned = {"team": "team1", "active": "eth1", "override": {"member": "eth1", "forced": False}}
    assert render_switch(pinned) == (
        "team1: eth1 is active (pinned; 'teamd-py switch team1 --auto' to release)"
    )
    forced = {**pinned, "override": {"member": "eth1", "forced": True}}
    assert render_switch(forced) == (
        "team1: eth1 is active (pinned, forced; 'teamd-py switch team1 --auto' to release)"
    )
    assert render_switch({"team": "team1", "active": "eth0", "override": None}) == (
        "team1: eth0 is active (automatic choice)"
    )
    assert render_switch({"team": "team1", "active": None, "override": None}) == (
        "team1: no member is active (automatic choice)"
    )
    lagging = {"team": "team1", "active": "eth0", "override": {"member": "eth1", "forced": False}}
    assert render_switch(lagging) == (
        "team1: eth0 is active; eth1 is pinned ('teamd-py switch team1 --auto' to release)"
    )


def test_reload_results() -> None:
    assert render_reload({"changed": []}) == "reloaded: nothing changed"
    assert render_reload({"changed": ["team1", "team2"]}) == "reloaded: team1, team2 changed"


def test_events_are_json_lines_with_sorted_keys() -> None:
    event = {"timestamp": "2026-12-01T12:00:00Z", "event": "switchover", "to_member": "eth1"}
    assert render_event(event) == (
        '{"event": "switchover", "timestamp": "2026-12-01T12:00:00Z", "to_member": "eth1"}'
    )
