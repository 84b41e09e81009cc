"""Import a teamd (libteam) JSON config of the activebackup runner.

teamd and teamd-py share the model (one active port, ranked by priority, chosen by link
watchers), so most keys translate one to one. Where they differ the importer says how, in the
output and on stderr: teamd's sticky is per port and teamd-py's preempt per team; teamd's link
watchers belong to ports, teamd-py's probe targets to the team; teamd counts a port up when any
of its watchers is, teamd-py needs carrier and every probe table. A JSON file has no useful line
numbers, so messages name the JSON path of the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from teamd_py.importers.common import (
    Field,
    ImporterError,
    ImportResult,
    MemberDraft,
    ProbeDraft,
    TeamDraft,
    Unmapped,
    finish,
    ifname_problem,
    json_show,
    mac_problem,
    plural,
    render,
    target_problem,
)

PRIORITY_RANGE = (-1000, 1000)
_NOT_DONE = "broadcast, roundrobin, random, loadbalance or lacp"
_LOAD_BALANCING_KEYS = {
    "tx_hash",
    "tx_balancer",
    "active",
    "fast_rate",
    "sys_prio",
    "min_ports",
    "agg_select_policy",
}
_LACP_PORT_KEYS = {"lacp_prio", "lacp_key"}
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_MAC = re.compile(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}")

_PING = {"arp_ping": "arp", "nsna_ping": "ns"}  # teamd's watcher -> teamd-py's table
_PING_KEYS = {"name", "target_host", "interval", "missed_max", "init_wait"}
_ARP_KEYS = {"source_host", "validate_active", "validate_inactive", "send_always", "vlanid"}
_TEAMD_MISSED_MAX = 3  # teamd's default for arp_ping and nsna_ping


class _NoValue:
    """Marks a key the JSON does not have (None cannot: it is JSON's null, a value of its own)."""

    def __repr__(self) -> str:
        return "<no value>"


_NO_VALUE: Any = _NoValue()


def _join(parent: str, key: str) -> str:
    """A JSON path as messages show it: ``ports.eth0``, or ``ports."odd name"``."""
    text = key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{parent}.{text}" if parent else text


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class _Watcher:
    """One link watcher object, with where it was found (messages name its path)."""

    path: str
    body: dict[str, Any]
    port: str | None  # None: the top-level link_watch, which applies to every port


@dataclass
class _Target:
    """A probe target, and which ports teamd probed it from (teamd-py probes from all)."""

    paths: list[str]  # the target_host keys that name it
    ports: set[str] | None  # the ports whose own watchers name it; None: every port


@dataclass
class _Probe:
    """What the ping watchers of one family say, before they are merged into one table."""

    table: str
    intervals: list[tuple[int, str]] = field(default_factory=list)
    missed: list[tuple[int, str]] = field(default_factory=list)
    targets: dict[str, _Target] = field(default_factory=dict)
    first_path: str = ""
    comments: list[str] = field(default_factory=list)


class _Config:
    """One teamd config being imported: the draft team and what did not map, key by key."""

    def __init__(self, source: str, data: dict[str, Any]) -> None:
        self.source = source
        self.data = data
        self.unmapped: list[Unmapped] = []
        self.notes: list[str] = []  # comments above the team: keys that need no equivalent
        self.team_name: str | None = None

    def warn(self, path: str, value: Any, why: str) -> None:
        what = f"{path} {json_show(value)}" if value is not _NO_VALUE else path
        self.unmapped.append(Unmapped(what=what, why=why, team=self.team_name))

    def fail(self, path: str, value: Any, message: str) -> ImporterError:
        shown = f"{path} {json_show(value)}" if value is not _NO_VALUE else path
        warnings = [u.render(self.source) for u in self.unmapped]
        return ImporterError(self.source, message, path=shown, warnings=warnings)

    # --- the team -----------------------------------------------------------------------

    def team(self) -> TeamDraft:
        data = self.data
        name = data.get("device", _NO_VALUE)
        if name is _NO_VALUE:
            message = "missing: a team needs a name (teamd may have had it from its -t option)"
            raise self.fail("device", _NO_VALUE, message)
        problem = ifname_problem(name) if isinstance(name, str) else "not a string"
        if problem is not None:
            raise self.fail("device", name, problem)
        self.team_name = name
        self.runner()
        draft = TeamDraft(name=Field(name, f"device = {json_show(name)}"))
        draft.addresses_origin = "teamd's config has none (they were set elsewhere): add them"
        for key, value in data.items():
            if key in ("device", "runner", "ports", "link_watch"):
                continue
            path = _join("", key)
            if key == "debug_level":
                note = "ignored (teamd-py logs debug events with `teamd-py run --debug`)"
                draft.comments.append(f"{path} = {json_show(value)}: {note}")
            elif key == "hwaddr":
                self.hwaddr(draft, value)
            elif key == "notify_peers":
                self.notify(draft, value)
            elif key == "mcast_rejoin":
                why = "no equivalent (teamd-py sends no multicast rejoin reports after a switch)"
                self.warn(path, value, why)
            else:
                self.warn(path, value, "unknown key (not a teamd.conf option)")
        self.ports(draft)
        return draft

    def runner(self) -> None:
        runner = self.data.get("runner", _NO_VALUE)
        if runner is _NO_VALUE:
            message = (
                "missing: teamd's default runner is roundrobin; teamd-py does the activebackup "
                "runner only"
            )
            raise self.fail("runner.name", _NO_VALUE, message)
        if not isinstance(runner, dict):
            raise self.fail("runner", runner, "not an object with the runner's name")
        name = runner.get("name", _NO_VALUE)
        if name != "activebackup":
            message = (
                "teamd-py does adapter fault tolerance, the activebackup runner, only; "
                f"it does not do the {_NOT_DONE} runners"
            )
            if name is _NO_VALUE:
                message = "missing (teamd's default is roundrobin): " + message
            raise self.fail("runner.name", name, message)
        for key, value in runner.items():
            path = _join("runner", key)
            if key == "name":
                continue
            if key == "hwaddr_policy":
                self.hwaddr_policy(path, value)
            elif key in _LOAD_BALANCING_KEYS:
                self.notes.append(f"{path}: a load-balancing option; activebackup ignores it too")
            else:
                self.warn(path, value, "unknown key (not an activebackup runner option)")

    def hwaddr_policy(self, path: str, value: Any) -> None:
        if value == "same_all":
            self.notes.append(
                f'{path} = "same_all": the default (every member has the team\'s MAC)'
            )
        elif value in ("by_active", "only_active"):
            self.warn(path, value, "no equivalent (teamd-py keeps one logical MAC)")
        else:
            self.warn(path, value, "unknown policy (same_all, by_active or only_active)")

    def hwaddr(self, draft: TeamDraft, value: Any) -> None:
        if not isinstance(value, str) or not _MAC.fullmatch(value):
            self.warn("hwaddr", value, 'not a MAC address like "aa:bb:cc:dd:ee:ff"')
            return
        mac = value.lower().replace("-", ":")
        problem = mac_problem(mac)
        if problem is not None:
            self.warn("hwaddr", value, problem)
            return
        draft.mac = Field(mac, f"hwaddr = {json_show(value)}")

    def _int_in(self, path: str, value: Any, low: int, high: int, unit: str = "") -> int | None:
        """``value`` clamped into ``low..high`` (saying so), or None when it is no integer."""
        if not _is_int(value):
            self.warn(path, value, "not an integer")
            return None
        clamped = min(max(value, low), high)
        if clamped != value:
            why = f"out of teamd-py's range ({low}..{high}{unit}); imported as {clamped}"
            self.warn(path, value, why)
        return clamped

    def notify(self, draft: TeamDraft, value: Any) -> None:
        if not isinstance(value, dict):
            self.warn("notify_peers", value, "not an object with count and interval")
            return
        for key, item in value.items():
            path = _join("notify_peers", key)
            if key == "count":
                count = self._int_in(path, item, 0, 100)
                if count is not None:
                    draft.notify["count"] = Field(count, f"{path} = {json_show(item)}")
            elif key == "interval":
                interval = self._int_in(path, item, 1, 10_000, " ms")
                if interval is not None:
                    draft.notify["interval_ms"] = Field(interval, f"{path} = {json_show(item)}")
            else:
                self.warn(path, item, "unknown key (count and interval exist)")

    # --- ports and their link watchers ----------------------------------------------------

    def ports(self, draft: TeamDraft) -> None:
        ports = self.data.get("ports", _NO_VALUE)
        if not isinstance(ports, dict) or not ports:
            message = (
                "no members: teamd-py needs the ports in the config (teamd could also get "
                "them later, from teamdctl)"
            )
            raise self.fail("ports", ports, message)
        watchers = list(self._watchers(self.data.get("link_watch", _NO_VALUE), "link_watch", None))
        sticky: list[str] = []
        for name, body in ports.items():
            path = _join("ports", name)
            problem = ifname_problem(name)
            if problem is None and name == draft.name.value:
                problem = "it is the team's own name"
            if problem is not None:
                self.warn(path, body, problem)
                continue
            if body is None:
                body = {}
            if not isinstance(body, dict):
                self.warn(path, body, "not an object; imported with teamd's defaults")
                body = {}
            draft.members.append(self.member(name, path, body))
            if body.get("sticky") is True:
                sticky.append(name)
            watch = body.get("link_watch", _NO_VALUE)
            watchers.extend(self._watchers(watch, _join(path, "link_watch"), name))
        if not draft.members:
            raise self.fail("ports", ports, "no members: no port has a usable name")
        self.sticky(draft, sticky)
        self.link_watch(draft, watchers)

    def member(self, name: str, path: str, body: dict[str, Any]) -> MemberDraft:
        priority = Field(0, f"{path}: no prio (teamd's default, 0)")
        for key, value in body.items():
            item = _join(path, key)
            if key == "prio":
                prio = self._int_in(item, value, *PRIORITY_RANGE)
                if prio is not None:
                    priority = Field(prio, f"{item} = {json_show(value)}")
            elif key == "sticky":
                if not isinstance(value, bool):
                    self.warn(item, value, "not a boolean")
            elif key == "link_watch":
                continue
            elif key == "queue_id":
                self.warn(item, value, "no equivalent (teamd-py sets no queue ids)")
            elif key in _LACP_PORT_KEYS:
                self.notes.append(f"{item}: an LACP option; activebackup ignores it too")
            else:
                self.warn(item, value, "unknown key (not a teamd port option)")
        return MemberDraft(name=Field(name, path), rank_key="priority", rank=priority)

    def sticky(self, draft: TeamDraft, sticky: list[str]) -> None:
        if not sticky:
            return
        first = _join(_join("ports", sticky[0]), "sticky")
        draft.preempt = Field("never", f"{first} = true")
        draft.comments.append(
            "teamd's sticky is per port (a sticky active port keeps the traffic while it is up); "
            'teamd-py\'s preempt is per team, so preempt = "never" for the whole team: '
            f"sticky in teamd: {', '.join(sticky)}"
        )
        others = [m.name.value for m in draft.members if m.name.value not in sticky]
        if others:
            why = (
                'stickiness is per team in teamd-py (preempt = "never"), so '
                f"{', '.join(others)} (not sticky in teamd) keep the traffic too"
            )
            self.warn(first, True, why)

    def _watchers(self, value: Any, path: str, port: str | None) -> Iterator[_Watcher]:
        if value is _NO_VALUE:
            return
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, body in items:
            where = path if index is None else f"{path}[{index}]"
            if not isinstance(body, dict):
                self.warn(where, body, "not a link watcher object")
                continue
            yield _Watcher(where, body, port)

    def link_watch(self, draft: TeamDraft, watchers: list[_Watcher]) -> None:
        ups: list[tuple[int, str]] = []
        downs: list[tuple[int, str]] = []
        probes = {table: _Probe(table) for table in _PING.values()}
        members = {m.name.value for m in draft.members}
        for watcher in watchers:
            name = watcher.body.get("name", _NO_VALUE)
            name_path = _join(watcher.path, "name")
            if name == "ethtool":
                self.ethtool(watcher, ups, downs)
            elif isinstance(name, str) and name in _PING:
                self.ping(watcher, probes[_PING[name]])
            elif name is _NO_VALUE:
                self.warn(watcher.path, watcher.body, "a link watcher without a name")
            else:
                why = "no equivalent (teamd-py watches carrier, and ARP and NS paths)"
                self.warn(name_path, name, why)
        for key, values in (("up_delay_ms", ups), ("down_delay_ms", downs)):
            delay = self._setting(values, key, 0, 60_000, " ms")
            if delay is not None:
                draft.carrier[key] = delay
        for probe in probes.values():
            table = self.probe_table(probe, members)
            if table is not None:
                setattr(draft, probe.table, table)
        if draft.arp is not None and draft.ns is not None:
            why = (
                "with arp_ping too: teamd counts a port up when either answers; teamd-py "
                "needs the paths of both [team.arp] and [team.ns] up"
            )
            self.warn(_join(probes["ns"].first_path, "name"), "nsna_ping", why)
        has_ethtool = any(w.body.get("name") == "ethtool" for w in watchers)
        if has_ethtool and (draft.arp is not None or draft.ns is not None):
            draft.comments.append(
                "teamd counts a port up when any of its link watchers is (carrier alone kept "
                "it up beside a ping); teamd-py needs carrier and a working path"
            )

    def _largest(self, values: list[tuple[int, str]], key: str) -> tuple[int, str] | None:
        """One per-team value from per-watcher ones: the largest, warning about the others."""
        if not values:
            return None
        value, path = max(values, key=lambda v: v[0])
        for other, other_path in values:
            if other != value:
                why = f"teamd-py has one {key} per team: the largest, {value} ({path}), is used"
                self.warn(other_path, other, why)
        return value, path

    def _setting(
        self, values: list[tuple[int, str]], key: str, low: int, high: int, unit: str
    ) -> Field | None:
        """The largest of ``values``, clamped into teamd-py's range (saying so)."""
        chosen = self._largest(values, key)
        if chosen is None:
            return None
        value, path = chosen
        clamped = self._int_in(path, value, low, high, unit)
        return Field(clamped, f"{path} = {value}")

    def ethtool(
        self, watcher: _Watcher, ups: list[tuple[int, str]], downs: list[tuple[int, str]]
    ) -> None:
        for key, value in watcher.body.items():
            path = _join(watcher.path, key)
            if key == "name":
                continue
            if key in ("delay_up", "delay_down"):
                if not _is_int(value) or value < 0:
                    self.warn(path, value, "not a number of milliseconds")
                else:
                    (ups if key == "delay_up" else downs).append((value, path))
            else:
                self.warn(path, value, "unknown key (delay_up and delay_down exist)")

    def ping(self, watcher: _Watcher, probe: _Probe) -> None:
        body = watcher.body
        host = body.get("target_host", _NO_VALUE)
        host_path = _join(watcher.path, "target_host")
        if not isinstance(host, str):
            self.warn(host_path, host, "a ping watcher needs a target address; left out")
            return
        problem = target_problem(host, probe.table)
        if problem is not None:
            if not any(c in host for c in ".:"):
                problem = "teamd resolved host names; teamd-py needs an address"
            self.warn(host_path, host, f"{problem}; the watcher is left out")
            return
        if not probe.first_path:
            probe.first_path = watcher.path
        allowed = _PING_KEYS | (_ARP_KEYS if probe.table == "arp" else set())
        for key, value in body.items():
            path = _join(watcher.path, key)
            if key in ("name", "target_host"):
                continue
            if key not in allowed:
                self.warn(path, value, f"unknown key (not a {body['name']} option)")
            elif key == "interval":
                if _is_int(value) and value > 0:
                    probe.intervals.append((value, path))
                else:
                    self.warn(path, value, "not a number of milliseconds")
            elif key == "missed_max":
                if _is_int(value) and value >= 0:
                    probe.missed.append((value, path))
                else:
                    self.warn(path, value, "not a count of missed replies")
            elif key == "init_wait":
                probe.comments.append(
                    f"{path} = {json_show(value)}: not needed, a target is unknown until it "
                    "answers (nothing is concluded before)"
                )
            elif key in ("validate_active", "validate_inactive"):
                probe.comments.append(
                    f"{path} = {json_show(value)}: teamd-py always validates replies "
                    "(only the target's answer to our own probe counts)"
                )
            elif key == "send_always":
                probe.comments.append(
                    f"{path} = {json_show(value)}: no equivalent needed, teamd-py always "
                    "probes from every member, and anonymously from standbys"
                )
            elif key == "source_host":
                why = (
                    "no equivalent (teamd-py probes from the team's own address, and from "
                    "0.0.0.0 on standbys)"
                )
                self.warn(path, value, why)
            elif key == "vlanid":
                self.vlanid(path, value, host, probe)
        if "missed_max" not in body:
            default = f"{_join(watcher.path, 'missed_max')} (absent: teamd's default)"
            probe.missed.append((_TEAMD_MISSED_MAX, default))
        target = probe.targets.setdefault(host, _Target([], set()))
        target.paths.append(host_path)
        if watcher.port is None or target.ports is None:
            target.ports = None
        else:
            target.ports.add(watcher.port)

    def vlanid(self, path: str, value: Any, host: str, probe: _Probe) -> None:
        if not _is_int(value) or not 1 <= value <= 4094:
            self.warn(path, value, "not a VLAN id (1-4094)")
            return
        why = (
            "teamd-py probes through a VLAN of the team, and teamd configs have none: "
            "the target is probed untagged (see the comment at [team.arp])"
        )
        self.warn(path, value, why)
        name = f"{self.team_name}.{value}"
        probe.comments.extend(
            [
                f"teamd probed {host} tagged with VLAN {value}. To do the same, add that VLAN "
                "to the team and tag the target:",
                "  [[team.vlan]]",
                f'  name = "{name}"',
                f"  id = {value}",
                f'  addresses = ["<this host\'s address on VLAN {value}>/<prefix>"]',
                f'and in targets: {{ ip = "{host}", vlan = {value} }}',
            ]
        )

    def probe_table(self, probe: _Probe, members: set[str]) -> ProbeDraft | None:
        if not probe.targets:
            return None
        draft = ProbeDraft(comments=list(dict.fromkeys(probe.comments)))
        interval = self._setting(probe.intervals, "interval_ms", 10, 60_000, " ms")
        if interval is not None:
            draft.settings["interval_ms"] = interval
        else:
            draft.comments.append("no interval (teamd requires one): teamd-py's default, 100 ms")
        # teamd fails a port after more than missed_max misses, teamd-py after missed_max.
        missed = self._largest(probe.missed, "missed_max")
        if missed is not None:
            value, path = missed
            ours = min(value + 1, 100)
            if ours != value + 1:
                why = "teamd-py's missed_max is at most 100 (teamd's 99); imported as 100"
                self.warn(path, value, why)
            origin = f"{path} = {value}: down after {ours} missed rounds in both"
            draft.settings["missed_max"] = Field(ours, origin)
        draft.comments.append(
            "teamd brought a path up at its first answer; teamd-py waits for `rise` (default 2) "
            "answered rounds"
        )
        for host, target in probe.targets.items():
            shown = json_show(host)
            draft.targets.append(Field((host, None), f"{target.paths[0]} = {shown}"))
            if target.ports is not None and target.ports != members:
                why = (
                    f"teamd probed it from {', '.join(sorted(target.ports))} only; teamd-py "
                    "probes every target from every member"
                )
                self.warn(target.paths[0], host, why)
        return draft


def import_teamd(text: str, source: str) -> ImportResult:
    """The config a teamd JSON file describes; ImporterError when it cannot make a team."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImporterError(
            source, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from exc
    except ValueError as exc:  # a number too long to convert, for one
        raise ImporterError(source, f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ImporterError(source, "invalid JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise ImporterError(source, "not a teamd config: the file is not a JSON object")
    config = _Config(source, data)
    draft = config.team()
    draft.comments[:0] = config.notes
    header = [
        f"teamd-py configuration imported from the teamd config {source} (activebackup).",
        "Each key's comment names the JSON key it came from. The 'not imported' lines have",
        "no equivalent here (the import printed them too): check them before use.",
    ]
    text_out = render(header, [draft], config.unmapped, source)
    count = len(config.unmapped)
    summary = f"{plural(count, 'setting')} did not map" if count else None
    return finish(text_out, source, config.unmapped, summary)
