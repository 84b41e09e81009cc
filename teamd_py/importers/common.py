"""What both importers share: diagnostics, a draft of the config, and the TOML it becomes.

An importer reads a foreign file into a draft (teams, members, VLANs, probe tables), where every
value carries the place it came from; the draft is then written as TOML with that place next to
each key, so an operator can check the result against the original line by line. Single values
are checked with the real loader, so the importer's idea of a valid name or address is exactly
the daemon's and never drifts from it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from teamd_py.config import Config, ConfigError, parse_config


class ImporterError(Exception):
    """The input cannot become a config at all (unparseable, no team, no members).

    ``line`` (and ``column``) point into a script or a JSON text; ``path`` is a JSON path.
    ``warnings`` are the lines that did not map before the import gave up, since they often
    explain why (a mistyped member line leaves a team without members).
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
        warnings: Iterable[str] = (),
    ) -> None:
        super().__init__(source, message)
        self.source = source
        self.message = message
        self.line = line
        self.column = column
        self.path = path
        self.warnings = tuple(warnings)

    def __str__(self) -> str:
        if self.line is not None:
            where = f"{self.source}:{self.line}"
            if self.column is not None:
                where += f":{self.column}"
            return f"{where}: {self.message}"
        if self.path:
            return f"{self.source}: {self.path}: {self.message}"
        return f"{self.source}: {self.message}"


@dataclass(frozen=True)
class Unmapped:
    """Something in the input with no equivalent: one line on stderr, one comment in the output.

    A script names its line (``FILE:LINE: <what> does not map: <why>``); a JSON file has no
    useful lines, so ``what`` starts with the JSON path instead (``FILE: <path> <value>: <why>``).
    ``team`` is the team the comment belongs to, or None for the top of the file.
    """

    what: str
    why: str
    line: int | None = None
    team: str | None = None

    def render(self, source: str) -> str:
        if self.line is not None:
            return f"{source}:{self.line}: {self.what} does not map: {self.why}"
        return f"{source}: {self.what}: {self.why}"


@dataclass
class Field:
    """One value of the draft and where it came from (shown as the key's comment)."""

    value: Any
    origin: str


@dataclass
class MemberDraft:
    """A `[[team.member]]`: ranked by ``role`` (ianscfg) or ``priority`` (teamd)."""

    name: Field
    rank_key: str  # "role" or "priority"
    rank: Field


@dataclass
class VlanDraft:
    """A `[[team.vlan]]`, with the addresses its ifconfig lines gave it."""

    name: Field
    id: Field
    addresses: list[Field] = field(default_factory=list)


@dataclass
class ProbeDraft:
    """A `[team.arp]` or `[team.ns]` table; each target's value is ``(ip, vlan or None)``."""

    targets: list[Field] = field(default_factory=list)
    settings: dict[str, Field] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)


@dataclass
class TeamDraft:
    """A `[[team]]`: keys left None fall back to the defaults the output spells out."""

    name: Field
    mac: Field | None = None
    addresses: list[Field] = field(default_factory=list)
    addresses_origin: str = "default: none"
    preempt: Field | None = None
    carrier: dict[str, Field] = field(default_factory=dict)
    notify: dict[str, Field] = field(default_factory=dict)
    members: list[MemberDraft] = field(default_factory=list)
    vlans: list[VlanDraft] = field(default_factory=list)
    arp: ProbeDraft | None = None
    ns: ProbeDraft | None = None
    comments: list[str] = field(default_factory=list)  # above the team
    trailer: list[str] = field(default_factory=list)  # after everything of the team


@dataclass(frozen=True)
class ImportResult:
    """The generated document, the model it loads as, and what did not map."""

    text: str
    config: Config
    warnings: tuple[str, ...]
    summary: str | None  # "N lines did not map", or None when everything mapped


# --- Checking single values with the loader ---------------------------------------------


def _first_problem(doc: dict[str, Any]) -> str | None:
    try:
        parse_config(doc)
    except ConfigError as exc:
        return exc.problems[0].message if exc.problems else "invalid"
    return None


def _team_doc(**keys: Any) -> dict[str, Any]:
    team: dict[str, Any] = {"name": "t0", "member": [{"name": "m0"}]}
    team.update(keys)
    return {"team": [team]}


def ifname_problem(name: str) -> str | None:
    """Why the daemon would refuse ``name`` as an interface name, or None."""
    return _first_problem(_team_doc(name=name))


def cidr_problem(cidr: str) -> str | None:
    """Why ``cidr`` cannot be an address of a team or VLAN, or None."""
    return _first_problem(_team_doc(addresses=[cidr]))


def mac_problem(mac: str) -> str | None:
    """Why ``mac`` cannot be a team's MAC, or None."""
    return _first_problem(_team_doc(mac=mac))


def target_problem(ip: str, table: str) -> str | None:
    """Why ``ip`` cannot be a probe target of ``table`` ("arp" or "ns"), or None."""
    return _first_problem(_team_doc(**{table: {"targets": [{"ip": ip}]}}))


def netmask_prefix(mask: str) -> int:
    """The prefix length of a dotted netmask; ValueError when it is not a contiguous mask."""
    try:
        value = int(ipaddress.IPv4Address(mask))
    except ValueError:
        raise ValueError(f"{mask!r} is not a dotted IPv4 netmask") from None
    prefix = bin(value).count("1")
    if value != (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF:
        raise ValueError(f"{mask} is not a contiguous netmask (its one bits must come first)")
    return prefix


_DIGITS = re.compile(r"[0-9]+")


def parse_decimal(text: str) -> int | None:
    """A plain decimal number, or None; int() would also take '+5', ' 5' or '1_0'."""
    return int(text) if _DIGITS.fullmatch(text) and len(text) <= 12 else None


# --- Writing TOML -------------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:  # a lone surrogate (JSON allows one) has no UTF-8 form
            out.append("\\ufffd")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    raise TypeError(f"no TOML rendering for {value!r}")


def comment_text(text: str) -> str:
    """``text`` made safe for a TOML comment: one line, no control characters."""
    return "".join(
        c if (c == "\t" or 0x20 <= ord(c) != 0x7F) and not 0xD800 <= ord(c) <= 0xDFFF else "?"
        for c in text.replace("\r\n", " ").replace("\n", " ")
    )


def shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_show(value: Any, limit: int = 60) -> str:
    """A compact JSON rendering of a value, for messages and comments."""
    return shorten(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")), limit)


_KEY_COLUMN = 30


class _Writer:
    """Lines of TOML, each key's origin as an aligned comment beside it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def comment(self, text: str, indent: str = "") -> None:
        self.lines.append(f"{indent}# {comment_text(text)}".rstrip())

    def header(self, text: str, indent: str = "") -> None:
        self.lines.append(f"{indent}{text}")

    def key(self, name: str, value: str, origin: str, indent: str = "") -> None:
        self.line(f"{indent}{name} = {value}", origin)

    def line(self, line: str, origin: str) -> None:
        if origin:
            line = f"{line.ljust(_KEY_COLUMN)}  # {comment_text(origin)}"
        self.lines.append(line)

    def array(self, name: str, items: list[tuple[str, str]], origin: str, indent: str) -> None:
        """An array; when it has items, one per line, each with its own origin comment."""
        if not items:
            self.key(name, "[]", origin, indent)
            return
        self.lines.append(f"{indent}{name} = [")
        for text, item_origin in items:
            self.line(f"{indent}  {text},", item_origin)
        self.lines.append(f"{indent}]")


def _target(value: tuple[str, int | None]) -> str:
    ip, vlan = value
    inner = f"ip = {toml_string(ip)}"
    if vlan is not None:
        inner += f", vlan = {vlan}"
    return "{ " + inner + " }"


def _probe(out: _Writer, table: str, probe: ProbeDraft) -> None:
    indent = "  "
    out.blank()
    for text in probe.comments:
        out.comment(text, indent)
    out.header(f"[team.{table}]", indent)
    for key, item in probe.settings.items():
        out.key(key, toml_value(item.value), item.origin, indent)
    items = [(_target(t.value), t.origin) for t in probe.targets]
    out.array("targets", items, "", indent)


def _team(out: _Writer, team: TeamDraft, unmapped: list[str]) -> None:
    indent = "  "
    out.blank()
    for text in team.comments:
        out.comment(text)
    for text in unmapped:
        out.comment(f"not imported: {text}")
    out.header("[[team]]")
    out.key("name", toml_value(team.name.value), team.name.origin)
    mac = team.mac or Field("auto", "default: the permanent MAC of the first member enslaved")
    out.key("mac", toml_value(mac.value), mac.origin)
    items = [(toml_value(a.value), a.origin) for a in team.addresses]
    out.array("addresses", items, team.addresses_origin, "")
    preempt = team.preempt or Field("always", "default")
    out.key("preempt", toml_value(preempt.value), preempt.origin)
    for table, keys in (("carrier", team.carrier), ("notify", team.notify)):
        if keys:
            out.blank()
            out.header(f"[team.{table}]", indent)
            for key, item in keys.items():
                out.key(key, toml_value(item.value), item.origin, indent)
    for member in team.members:
        out.blank()
        out.header("[[team.member]]", indent)
        out.key("name", toml_value(member.name.value), member.name.origin, indent)
        out.key(member.rank_key, toml_value(member.rank.value), member.rank.origin, indent)
    for vlan in team.vlans:
        out.blank()
        out.header("[[team.vlan]]", indent)
        out.key("name", toml_value(vlan.name.value), vlan.name.origin, indent)
        out.key("id", toml_value(vlan.id.value), vlan.id.origin, indent)
        items = [(toml_value(a.value), a.origin) for a in vlan.addresses]
        out.array("addresses", items, "default: none", indent)
    for table, probe in (("arp", team.arp), ("ns", team.ns)):
        if probe is not None:
            _probe(out, table, probe)
    if team.trailer:
        out.blank()
        for text in team.trailer:
            out.comment(text)


def render(
    header: list[str],
    teams: list[TeamDraft],
    unmapped: list[Unmapped],
    source: str,
    notes: Sequence[str] = (),
    trailer: Sequence[str] = (),
) -> str:
    """The TOML document: header, file-wide notes, one block per team, closing notes."""
    out = _Writer()
    for text in header:
        out.comment(text)
    names = {t.name.value for t in teams}
    loose = [u.render(source) for u in unmapped if u.team not in names]
    if notes or loose:
        out.blank()
    for text in notes:
        out.comment(text)
    for text in loose:
        out.comment(f"not imported: {text}")
    for team in teams:
        mine = [u.render(source) for u in unmapped if u.team == team.name.value]
        _team(out, team, mine)
    if trailer:
        out.blank()
    for text in trailer:
        out.comment(text)
    return "\n".join(out.lines) + "\n"


def finish(text: str, source: str, unmapped: list[Unmapped], summary: str | None) -> ImportResult:
    """Load the generated text as the daemon would; a failure here is a bug of the importer."""
    try:
        config = parse_config(tomllib.loads(text), source)
    except (tomllib.TOMLDecodeError, ConfigError) as exc:
        raise RuntimeError(f"the imported config does not validate (importer bug): {exc}") from exc
    warnings = tuple(u.render(source) for u in unmapped)
    return ImportResult(text=text, config=config, warnings=warnings, summary=summary)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
