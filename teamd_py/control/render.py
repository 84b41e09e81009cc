"""Human views of control results, for the terminal; `--json` gives the documents themselves.

The views follow the order of the documents (the config's order of teams and members, which is
also their rank), so the same state always prints the same text. Missing keys print as unknown
rather than failing, so a newer client still reads an older daemon.
"""

from __future__ import annotations

import json
from typing import Any


def _ms(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _updown(value: bool | None) -> str:
    return "unknown" if value is None else "up" if value else "down"


def _header(name: str, team: dict[str, Any]) -> str:
    active = team.get("active")
    parts = [
        str(team.get("state", "unknown")),
        f"active {active}" if active else "no active member",
    ]
    if team.get("mac"):
        parts.append(f"MAC {team['mac']}")
    return f"{name}: {', '.join(parts)}"


def _override(override: dict[str, Any]) -> str:
    forced = " (forced)" if override.get("forced") else ""
    return f"  override: {override.get('member')} pinned{forced}"


def _last_switch(team: dict[str, Any]) -> str:
    last = team.get("last_switch")
    if not last:
        return "  last switch: never"
    count = team.get("switches")
    detail = [str(last.get("reason", "unknown"))]
    if last.get("decision_ms") is not None:
        detail.append(f"decided in {_ms(last['decision_ms'])} ms")
    line = (
        f"  last switch: {last.get('time', '?')} {last.get('from') or '-'} -> "
        f"{last.get('to') or '-'} ({', '.join(detail)})"
    )
    if count is not None:
        line += f"; {count} switch{'' if count == 1 else 'es'}"
    return line


def _target(target: dict[str, Any]) -> str:
    where = str(target.get("ip"))
    if target.get("vlan") is not None:
        where += f" vlan {target['vlan']}"
    rtt = target.get("rtt_ms")
    rtt_text = "-" if rtt is None else f"{_ms(rtt)} ms"
    return (
        f"    target {where}: {_updown(target.get('up'))}, missed {target.get('missed', '?')}, "
        f"rtt {rtt_text}"
    )


def _member(name: str, member: dict[str, Any]) -> list[str]:
    role, priority = member.get("role"), member.get("priority")
    if role:
        rank = f"role: {role}" if priority is None else f"role: {role}, priority {priority}"
    else:
        rank = f"priority: {'unknown' if priority is None else priority}"
    carrier = _updown(member.get("carrier"))
    health = member.get("health", "unknown")
    path = member.get("path") or "not probed"
    return [
        f"  {name}: {member.get('state', 'unknown')}",
        f"    {rank}",
        f"    carrier: {carrier}, health: {health}, path: {path}",
        *(_target(t) for t in member.get("targets") or []),
    ]


def _team(name: str, team: dict[str, Any]) -> list[str]:
    lines = [_header(name, team)]
    if team.get("override"):
        lines.append(_override(team["override"]))
    lines.append(_last_switch(team))
    for member_name, member in (team.get("members") or {}).items():
        lines.extend(_member(member_name, member))
    return lines


def render_state(state: dict[str, Any]) -> str:
    """The state document as text, one block per team, blank lines between teams.

    team1: up, active eth0, MAC 02:00:5e:00:00:01
      last switch: 2026-12-01T12:00:00Z eth1 -> eth0 (preempt, decided in 1.2 ms); 2 switches
      eth0: active
        role: primary, priority 200
        carrier: up, health: up, path: up
        target 192.168.1.254 vlan 10: up, missed 0, rtt 0.4 ms
    """
    teams = state.get("teams") or {}
    if not teams:
        return "no teams"
    return "\n\n".join("\n".join(_team(name, team)) for name, team in teams.items())


def render_switch(result: dict[str, Any]) -> str:
    """One line: who is active now, and whether that is pinned and how to undo it."""
    team, active, override = result.get("team"), result.get("active"), result.get("override")
    now = f"{team}: {active or 'no member'} is active"
    if not override:
        return f"{now} (automatic choice)"
    how = "pinned, forced" if override.get("forced") else "pinned"
    release = f"'teamd-py switch {team} --auto' to release"
    pinned = override.get("member")
    if pinned == active:
        return f"{now} ({how}; {release})"
    return f"{now}; {pinned} is {how} ({release})"


def render_reload(result: dict[str, Any]) -> str:
    changed = result.get("changed") or []
    return f"reloaded: {', '.join(changed)} changed" if changed else "reloaded: nothing changed"


def render_event(event: dict[str, Any]) -> str:
    """One JSON line with sorted keys: events are for scripts (jq) as much as for people."""
    return json.dumps(event, sort_keys=True, ensure_ascii=False, default=str)
