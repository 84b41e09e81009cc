"""Load the TOML configuration and validate it into the frozen model.

Validation collects every problem in one pass, so an operator fixes the file once rather
than once per error, and each problem names the exact key path it is about. What each
table may contain is declared in a small schema (key -> checker), so adding a table or a
key is one line; anything not in a schema is reported as an unknown key, never ignored.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Final

from teamd_py.config.model import (
    CarrierConfig,
    Config,
    DaemonConfig,
    DampingConfig,
    HookConfig,
    IPInterface,
    MemberConfig,
    NotifyConfig,
    PathPolicy,
    Preempt,
    ProbeConfig,
    ProbeTarget,
    Role,
    TeamConfig,
    VlanConfig,
)

DEFAULT_CONFIG_PATH: Final = "/etc/teamd-py/config.toml"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file; ``path`` is a key path, or "" for the whole file."""

    path: str
    message: str


class ConfigError(Exception):
    """The file cannot be used; carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        super().__init__(source, problems)
        self.source = source
        self.problems = list(problems)

    def lines(self) -> list[str]:
        """One line per problem, in the ``file: path: message`` form editors understand."""
        return [
            f"{self.source}: {p.path}: {p.message}" if p.path else f"{self.source}: {p.message}"
            for p in self.problems
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the file at ``path``; any failure is a ConfigError."""
    source = os.fsdecode(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(source, [Problem("", f"cannot read the file: {e.strerror or e}")]) from e
    except UnicodeDecodeError as e:
        message = f"the file is not valid UTF-8 text (byte {e.start}: {e.reason})"
        raise ConfigError(source, [Problem("", message)]) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, [Problem("", f"invalid TOML: {e}")]) from e
    return parse_config(data, source)


def parse_config(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a parsed TOML document; raises ConfigError listing every problem."""
    problems = _Problems()
    doc = _check_document(data, "", problems)
    if isinstance(doc, dict):
        _cross_check(doc.get("team"), problems)
    if problems.items:
        raise ConfigError(source, problems.items)
    return Config(
        teams=tuple(_build_team(t) for t in doc["team"]),
        source=source,
        daemon=DaemonConfig(**doc["daemon"]),
    )


# --- Checking machinery -------------------------------------------------------------------


class _Invalid:
    """Stands in for a value that failed its check (its problem is already recorded)."""

    def __repr__(self) -> str:
        return "<invalid>"


_INVALID: Final = _Invalid()
_ABSENT: Final = object()


class _Problems:
    """Accumulates problems; ``add`` returns the invalid marker so checkers can return it."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, message: str) -> _Invalid:
        self.items.append(Problem(path, message))
        return _INVALID


_Checker = Callable[[Any, str, _Problems], Any]


@dataclass(frozen=True)
class _Key:
    """How one key of a table is checked, and what a missing key means.

    ``default`` is a raw TOML value run through the same checker, so defaults are spelled
    the way a user would write them; ``_ABSENT`` leaves a missing key out of the result.
    """

    check: _Checker
    required: bool = False
    default: Any = _ABSENT


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _join(parent: str, key: object) -> str:
    text = key if isinstance(key, str) and _BARE_KEY.fullmatch(key) else json.dumps(str(key))
    return f"{parent}.{text}" if parent else text


def _kind(value: object) -> str:
    """The TOML name of a value's type, for 'expected X, got Y' messages."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        ((list, tuple), "an array"),
        (dict, "a table"),
        (datetime, "a date-time"),
        (date, "a date"),
        (time, "a time"),
    ]
    for types, name in kinds:
        if isinstance(value, types):
            return name
    return f"a {type(value).__name__}"


def _show(value: object) -> str:
    """A short rendering of a scalar as the user wrote it; "" for arrays and tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 64 else "a number too large"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
    if isinstance(value, float | datetime | date | time):
        return str(value)
    return ""


def _expected(what: str, value: object, path: str, problems: _Problems) -> _Invalid:
    shown = _show(value)
    got = f"{_kind(value)} ({shown})" if shown else _kind(value)
    return problems.add(path, f"expected {what}, got {got}")


def _suggest(word: object, options: Iterable[str]) -> str:
    """A "did you mean" hint when ``word`` is a near miss of one of ``options``."""
    if not isinstance(word, str):
        return ""
    match = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _table(
    schema: Mapping[str, _Key], post: Callable[[dict[str, Any], str, _Problems], None] | None = None
) -> _Checker:
    """A checker for a table: unknown keys, missing keys, then each key's own checker."""

    def check(value: Any, path: str, problems: _Problems) -> Any:
        if not isinstance(value, dict):
            return _expected("a table", value, path, problems)
        out: dict[str, Any] = {}
        for key, raw in value.items():
            spec = schema.get(key) if isinstance(key, str) else None
            if spec is None:
                hint = _suggest(key, schema) or f" (known keys: {', '.join(schema)})"
                problems.add(_join(path, key), f"unknown key{hint}")
            else:
                out[key] = spec.check(raw, _join(path, key), problems)
        for key, spec in schema.items():
            if key in out:
                continue
            if spec.required:
                out[key] = problems.add(_join(path, key), "required key is missing")
            elif spec.default is not _ABSENT:
                out[key] = spec.check(spec.default, _join(path, key), problems)
        if post is not None:
            post(out, path, problems)
        return out

    return check


def _array(
    item: _Checker, what: str = "an array", min_items: int = 0, too_few: str = ""
) -> _Checker:
    """A checker for an array whose elements are checked by ``item`` (paths get ``[i]``)."""

    def check(value: Any, path: str, problems: _Problems) -> Any:
        if not isinstance(value, list):
            return _expected(what, value, path, problems)
        if len(value) < min_items:
            problems.add(path, too_few)
        return [item(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]

    return check


def _int(lo: int, hi: int, unit: str = "", out_of_range: str = "") -> _Checker:
    """A checker for an integer in ``lo..hi``; booleans are not integers here."""
    template = out_of_range or f"{{value}} is out of range ({lo}..{hi}{unit})"

    def check(value: Any, path: str, problems: _Problems) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return _expected("an integer", value, path, problems)
        if not lo <= value <= hi:
            return problems.add(path, template.format(value=_show(value)))
        return value

    return check


def _choice(enum: type[StrEnum], what: str) -> _Checker:
    """A checker for one of an enum's values, suggesting the closest on a typo."""
    allowed = [member.value for member in enum]

    def check(value: Any, path: str, problems: _Problems) -> Any:
        if not isinstance(value, str):
            return _expected("a string", value, path, problems)
        if value not in allowed:
            message = f"{_show(value)} is not a valid {what} ({', '.join(allowed)})"
            return problems.add(path, message + _suggest(value, allowed))
        return enum(value)

    return check


# --- Value checkers -----------------------------------------------------------------------

_IFNAME_MAX_BYTES: Final = 15  # IFNAMSIZ minus the terminating NUL


def _ifname_problem(name: str) -> str | None:
    """Why the kernel would refuse ``name`` as an interface name (mirrors dev_valid_name)."""
    if not name:
        return "it is empty"
    if name in (".", ".."):
        return "'.' and '..' are reserved"
    if "\0" in name:
        return "it contains a NUL character"
    for char in "/:":
        if char in name:
            return f"it contains {char!r}"
    if any(c.isspace() for c in name):
        return "it contains whitespace"
    try:
        size = len(name.encode())
    except UnicodeEncodeError:
        return "it is not valid Unicode text"
    if size > _IFNAME_MAX_BYTES:
        return f"it is {size} bytes long (at most {_IFNAME_MAX_BYTES})"
    return None


def _ifname(value: Any, path: str, problems: _Problems) -> Any:
    if not isinstance(value, str):
        return _expected("a string", value, path, problems)
    reason = _ifname_problem(value)
    if reason is not None:
        return problems.add(path, f"{_show(value)} is not a valid interface name: {reason}")
    return value


_MAC = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")


def _mac(value: Any, path: str, problems: _Problems) -> Any:
    """'auto' becomes None; anything else must be a usable unicast MAC, normalised."""
    if not isinstance(value, str):
        return _expected("a string ('auto' or a MAC address)", value, path, problems)
    if value == "auto":
        return None
    if not _MAC.fullmatch(value):
        message = f"{_show(value)} is not a MAC address; write 'auto' or 'aa:bb:cc:dd:ee:ff'"
        return problems.add(path, message)
    mac = value.lower()
    if int(mac[:2], 16) & 1:
        message = (
            f"{mac} is a multicast MAC address (group bit set in the first byte); use a unicast one"
        )
        return problems.add(path, message)
    if mac == "00:00:00:00:00:00":
        return problems.add(path, f"{mac} is not a usable MAC address")
    return mac


def _cidr(value: Any, path: str, problems: _Problems) -> Any:
    """An address with an explicit prefix that a host can use on an interface."""
    if not isinstance(value, str):
        return _expected(
            "a string (an address with prefix, like '192.0.2.1/24')", value, path, problems
        )
    shown = _show(value)
    if "/" not in value:
        try:
            bare = ipaddress.ip_address(value)
        except ValueError:
            return problems.add(path, f"{shown} is not an IPv4 or IPv6 address with a prefix")
        example = f"{value}/{24 if bare.version == 4 else 64}"
        return problems.add(
            path, f"{shown} has no prefix length; write it as CIDR, like {example!r}"
        )
    if "%" in value:
        return problems.add(path, f"{shown}: a zone index ('%...') is not allowed here")
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        return problems.add(path, f"{shown} is not an IPv4 or IPv6 address with a prefix")
    ip = iface.ip
    for bad, label in (
        (ip.is_multicast, "a multicast address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_unspecified, "the unspecified address"),
    ):
        if bad:
            return problems.add(path, f"{shown} is {label}; it cannot be configured on a team")
    if isinstance(iface, ipaddress.IPv4Interface) and iface.network.prefixlen <= 30:
        if ip == iface.network.network_address:
            return problems.add(path, f"{shown} is the network address of {iface.network}")
        if ip == iface.network.broadcast_address:
            return problems.add(path, f"{shown} is the broadcast address of {iface.network}")
    return iface


def _neighbour(version: int) -> _Checker:
    """A checker for a probe target's address: one host of the given IP version."""
    family = "IPv4" if version == 4 else "IPv6"

    def check(value: Any, path: str, problems: _Problems) -> Any:
        if not isinstance(value, str):
            return _expected(f"a string (an {family} address)", value, path, problems)
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return problems.add(path, f"{_show(value)} is not an {family} address")
        if ip.version != version:
            table = "[team.ns]" if version == 4 else "[team.arp]"
            return problems.add(path, f"{_show(value)} is not an {family} address (use {table})")
        for bad, label in (
            (ip.is_multicast, "a multicast address"),
            (ip.is_loopback, "a loopback address"),
            (ip.is_unspecified, "the unspecified address"),
        ):
            if bad:
                return problems.add(path, f"{_show(value)} is {label}; it cannot be probed")
        return ip

    return check


def _bool(value: Any, path: str, problems: _Problems) -> Any:
    if not isinstance(value, bool):
        return _expected("a boolean (true or false)", value, path, problems)
    return value


def _command(value: Any, path: str, problems: _Problems) -> Any:
    """A command as an array of strings (no shell), or a string split the way a shell would."""
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as exc:
            return problems.add(path, f"cannot split the command: {exc}")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return _expected("a command (a string, or an array of strings)", value, path, problems)
    if not value or not value[0]:
        return problems.add(path, "the command is empty")
    if not os.path.isabs(value[0]):
        return problems.add(path, f"{value[0]!r} is not an absolute path")
    return tuple(value)


def _socket_path(value: Any, path: str, problems: _Problems) -> Any:
    if not isinstance(value, str):
        return _expected("a string (a path)", value, path, problems)
    if not os.path.isabs(value):
        return problems.add(path, f"{_show(value)} is not an absolute path")
    if len(value.encode()) > 107:
        return problems.add(path, "a unix socket path must be at most 107 bytes")
    return value


def _group(value: Any, path: str, problems: _Problems) -> Any:
    if not isinstance(value, str) or not value:
        return _expected("a group name", value, path, problems)
    return value


def _listen(value: Any, path: str, problems: _Problems) -> Any:
    """host:port, IPv6 hosts in brackets."""
    if not isinstance(value, str):
        return _expected("a string like '127.0.0.1:9477'", value, path, problems)
    host, sep, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        return problems.add(path, f"{_show(value)} is not an address:port like '127.0.0.1:9477'")
    if not sep or not 1 <= number <= 65535:
        return problems.add(path, f"{_show(value)} has no valid port (1-65535)")
    return value


def _require_one_rank(member: dict[str, Any], path: str, problems: _Problems) -> None:
    if "role" in member and "priority" in member:
        problems.add(path, "both 'role' and 'priority' are given; use one of them")


# --- Schemas: what each table may contain -------------------------------------------------

_MS_DELAY = _int(0, 60_000, " ms")
_ADDRESSES = _array(_cidr)

_CARRIER: Final = {
    "up_delay_ms": _Key(_MS_DELAY, default=0),
    "down_delay_ms": _Key(_MS_DELAY, default=0),
    "kernel_miimon_ms": _Key(_int(0, 10_000, " ms"), default=100),
}


def _damping_levels(table: dict[str, Any], path: str, problems: _Problems) -> None:
    reuse, suppress = table.get("reuse"), table.get("suppress")
    if isinstance(reuse, int) and isinstance(suppress, int) and not reuse < suppress:
        problems.add(f"{path}.reuse", f"{reuse} must be below suppress ({suppress})")


_DAMPING: Final = {
    "enabled": _Key(_bool, default=True),
    "penalty": _Key(_int(1, 100_000), default=1000),
    "suppress": _Key(_int(1, 1_000_000), default=2000),
    "reuse": _Key(_int(1, 1_000_000), default=750),
    "half_life_ms": _Key(_int(100, 3_600_000, " ms"), default=5000),
}
_NOTIFY: Final = {
    "count": _Key(_int(0, 100), default=3),
    "interval_ms": _Key(_int(1, 10_000, " ms"), default=200),
}
_MEMBER: Final = {
    "name": _Key(_ifname, required=True),
    "role": _Key(_choice(Role, "role")),
    "priority": _Key(_int(-1000, 1000)),
}
_VLAN: Final = {
    "name": _Key(_ifname, required=True),
    "id": _Key(_int(1, 4094, out_of_range="{value} is not a VLAN id (1-4094)"), required=True),
    "addresses": _Key(_ADDRESSES, default=[]),
}
_TARGET_V4: Final = {
    "ip": _Key(_neighbour(4), required=True),
    "vlan": _Key(_int(1, 4094, out_of_range="{value} is not a VLAN id (1-4094)")),
}
_TARGET_V6: Final = {**_TARGET_V4, "ip": _Key(_neighbour(6), required=True)}


def _probe(target: Mapping[str, _Key]) -> _Checker:
    return _table(
        {
            "interval_ms": _Key(_int(10, 60_000, " ms"), default=100),
            "missed_max": _Key(_int(1, 100), default=3),
            "rise": _Key(_int(1, 100), default=2),
            "policy": _Key(_choice(PathPolicy, "path policy"), default="any"),
            "targets": _Key(
                _array(_table(target), min_items=1, too_few="at least one target is required"),
                required=True,
            ),
        }
    )


_HOOK: Final = {
    "command": _Key(_command, required=True),
    "timeout_ms": _Key(_int(1, 600_000, " ms"), default=5000),
}
_DAEMON: Final = {
    "control_socket": _Key(_socket_path, default="/run/teamd-py/control.sock"),
    "control_group": _Key(_group),
    "metrics_listen": _Key(_listen),
    "teardown_on_stop": _Key(_bool, default=False),
    "netlink_buffer_kib": _Key(_int(64, 65536, " KiB"), default=8192),
}

_TEAM: Final = {
    "name": _Key(_ifname, required=True),
    "mac": _Key(_mac, default="auto"),
    "addresses": _Key(_ADDRESSES, default=[]),
    "preempt": _Key(_choice(Preempt, "preempt mode"), default="always"),
    "preempt_delay_ms": _Key(_int(0, 3_600_000, " ms"), default=0),
    "carrier": _Key(_table(_CARRIER), default={}),
    "notify": _Key(_table(_NOTIFY), default={}),
    "damping": _Key(_table(_DAMPING, post=_damping_levels), default={}),
    "member": _Key(
        _array(
            _table(_MEMBER, post=_require_one_rank),
            what="an array of tables ([[team.member]])",
            min_items=1,
            too_few="a team needs at least one [[team.member]]",
        ),
        default=[],
    ),
    "vlan": _Key(_array(_table(_VLAN), what="an array of tables ([[team.vlan]])"), default=[]),
    "arp": _Key(_probe(_TARGET_V4)),
    "ns": _Key(_probe(_TARGET_V6)),
    "hook": _Key(_table(_HOOK)),
}
_DOCUMENT: Final = {
    "daemon": _Key(_table(_DAEMON), default={}),
    "team": _Key(
        _array(
            _table(_TEAM),
            what="an array of tables ([[team]])",
            min_items=1,
            too_few="no [[team]] is defined; at least one is required",
        ),
        default=[],
    ),
}

_check_document = _table(_DOCUMENT)


# --- Checks across tables -----------------------------------------------------------------


def _tables(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """The (index, table) pairs of an array that passed its own checks."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _valid(value: Any) -> bool:
    """Whether a checked value can take part in cross-table checks."""
    return value is not _INVALID and value is not None


class _Names:
    """Interface names share one kernel namespace: teams, members and VLANs alike."""

    def __init__(self, problems: _Problems) -> None:
        self.problems = problems
        self.seen: dict[str, tuple[str, str, int, str]] = {}  # name -> kind, path, team, label

    def claim(self, name: Any, kind: str, path: str, team: int, label: str) -> None:
        if not _valid(name):
            return
        first = self.seen.get(name)
        if first is None:
            self.seen[name] = (kind, path, team, label)
            return
        first_kind, first_path, first_team, first_label = first
        if kind == first_kind == "member" and team == first_team:
            message = f"{name!r} is listed twice in this team (first at {first_path})"
        elif kind == first_kind == "member":
            message = (
                f"{name!r} is already a member of {first_label} at {first_path}; "
                "a NIC can belong to only one team"
            )
        else:
            what = {
                "team": "a team name",
                "member": f"a member of {first_label}",
                "vlan": "a VLAN name",
            }[first_kind]
            message = f"{name!r} is already used as {what} at {first_path}"
        self.problems.add(path, message)


def _cross_check(teams: Any, problems: _Problems) -> None:
    """Uniqueness and one-of rules that no single key can check on its own."""
    names = _Names(problems)
    seen_ips: dict[Any, str] = {}

    def claim_addresses(addresses: Any, path: str) -> None:
        if not isinstance(addresses, list):
            return
        for index, iface in enumerate(addresses):
            if not _valid(iface):
                continue
            where = f"{path}[{index}]"
            first = seen_ips.setdefault(iface.ip, where)
            if first != where:
                problems.add(where, f"address {iface.ip} is already configured at {first}")

    for ti, team in _tables(teams):
        tpath = f"team[{ti}]"
        label = f"team {team['name']!r}" if _valid(team.get("name")) else tpath
        names.claim(team.get("name"), "team", f"{tpath}.name", ti, label)
        claim_addresses(team.get("addresses"), f"{tpath}.addresses")

        primary: str | None = None
        for mi, member in _tables(team.get("member")):
            mpath = f"{tpath}.member[{mi}]"
            names.claim(member.get("name"), "member", f"{mpath}.name", ti, label)
            if member.get("role") is Role.PRIMARY:
                if primary is None:
                    primary = f"{mpath}.role"
                else:
                    problems.add(
                        f"{mpath}.role",
                        f"{primary} is already primary; a team has at most one primary",
                    )

        vlan_ids: dict[int, str] = {}
        for vi, vlan in _tables(team.get("vlan")):
            vpath = f"{tpath}.vlan[{vi}]"
            names.claim(vlan.get("name"), "vlan", f"{vpath}.name", ti, label)
            vid = vlan.get("id")
            if _valid(vid):
                first = vlan_ids.setdefault(vid, f"{vpath}.id")
                if first != f"{vpath}.id":
                    problems.add(f"{vpath}.id", f"VLAN id {vid} is already used at {first}")
            claim_addresses(vlan.get("addresses"), f"{vpath}.addresses")

        for table in ("arp", "ns"):
            probe = team.get(table)
            if isinstance(probe, dict):
                _check_targets(probe.get("targets"), f"{tpath}.{table}.targets", vlan_ids, problems)


def _check_targets(targets: Any, path: str, vlan_ids: dict[int, str], problems: _Problems) -> None:
    """A target's VLAN must be one of the team's, and a target is probed once."""
    seen: dict[tuple[Any, Any], str] = {}
    for index, target in _tables(targets):
        where = f"{path}[{index}]"
        vid = target.get("vlan")
        if _valid(vid) and vid not in vlan_ids:
            known = ", ".join(str(v) for v in sorted(vlan_ids)) or "none"
            problems.add(
                f"{where}.vlan", f"VLAN {vid} is not a VLAN of this team (its VLANs: {known})"
            )
        key = (target.get("ip"), vid)
        if _valid(key[0]):
            first = seen.setdefault(key, where)
            if first != where:
                problems.add(where, f"the same target is already listed at {first}")


# --- Building the model (only reached when nothing is wrong) ------------------------------


def _build_member(member: dict[str, Any]) -> MemberConfig:
    if "priority" in member:
        return MemberConfig(name=member["name"], priority=member["priority"], role=None)
    role: Role = member.get("role", Role.STANDBY)
    return MemberConfig(name=member["name"], priority=role.priority, role=role)


def _build_vlan(vlan: dict[str, Any]) -> VlanConfig:
    addresses: tuple[IPInterface, ...] = tuple(vlan["addresses"])
    return VlanConfig(name=vlan["name"], id=vlan["id"], addresses=addresses)


def _build_team(team: dict[str, Any]) -> TeamConfig:
    return TeamConfig(
        name=team["name"],
        mac=team["mac"],
        addresses=tuple(team["addresses"]),
        preempt=team["preempt"],
        preempt_delay_ms=team["preempt_delay_ms"],
        carrier=CarrierConfig(**team["carrier"]),
        notify=NotifyConfig(**team["notify"]),
        damping=DampingConfig(**team["damping"]),
        members=tuple(_build_member(m) for m in team["member"]),
        vlans=tuple(_build_vlan(v) for v in team["vlan"]),
        arp=_build_probe(team.get("arp")),
        ns=_build_probe(team.get("ns")),
        hook=HookConfig(**team["hook"]) if "hook" in team else None,
    )


def _build_probe(probe: dict[str, Any] | None) -> ProbeConfig | None:
    if probe is None:
        return None
    return ProbeConfig(
        targets=tuple(ProbeTarget(t["ip"], t.get("vlan")) for t in probe["targets"]),
        interval_ms=probe["interval_ms"],
        missed_max=probe["missed_max"],
        rise=probe["rise"],
        policy=probe["policy"],
    )
