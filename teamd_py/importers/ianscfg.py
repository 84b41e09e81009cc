"""Import an Intel ANS setup script: its `ianscfg` and `ifconfig` lines become teams.

Such a script is a list of commands run in order, so it is read in order: a member or a VLAN
adapter refers to a team created on an earlier line, an `ifconfig` to a device created before
it. Nothing is executed. A line that cannot be imported (another teaming mode, an option with
no equivalent, a mistake) is reported with its line number and left out, and the rest still
becomes a config; only a script that yields no team with a member is unusable.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field

from teamd_py.importers.common import (
    Field,
    ImporterError,
    ImportResult,
    MemberDraft,
    TeamDraft,
    Unmapped,
    VlanDraft,
    cidr_problem,
    finish,
    ifname_problem,
    mac_problem,
    netmask_prefix,
    parse_decimal,
    plural,
    render,
    shorten,
)

COMMIT_NOTE = "no commit step: the daemon applies the whole file as one unit"
SAVE_NOTE = "no save step: this file is the saved configuration"

_VALUE_OPTIONS = {"t", "m", "p", "M", "v", "i", "c"}
_FLAG_OPTIONS = {"a", "s", "V"}
_LEFT_OUT = "; the line is left out"
_UNKNOWN_OPTION = "not an ianscfg option the importer knows"
_REMOVE_WHY = (
    "removals are not replayed: the output has what the script adds, so leave the removed "
    "part out of it by hand"
)

_LOAD_BALANCING = (
    "load balancing has no equivalent (teamd-py carries the traffic on one member at a time); "
    "imported as an AFT team"
)
_AGGREGATION = (
    "link aggregation has no equivalent (teamd-py carries the traffic on one member at a time); "
    "imported as an AFT team: the switch ports must not form a channel"
)
_MODES = {
    "ALB": _LOAD_BALANCING,
    "RLB": _LOAD_BALANCING,
    "SFT": "teamd-py has no switch fault tolerance mode; imported as an AFT team",
    "FEC": _AGGREGATION,
    "GEC": _AGGREGATION,
    "SLA": _AGGREGATION,
    "802.3AD": _AGGREGATION,
    "AD": _AGGREGATION,
    "LA": _AGGREGATION,
}

# ifconfig settings that take one argument and have no equivalent, with the reason.
_IFCONFIG_ONE_ARG = {
    "mtu": "teamd-py does not set the MTU",
    "metric": "teamd-py does not set route metrics",
    "txqueuelen": "teamd-py does not set queue lengths",
    "pointopoint": "a team is not a point-to-point link",
    "dstaddr": "a team is not a point-to-point link",
    "tunnel": "a team is not a tunnel",
    "io_addr": "hardware settings belong to the NIC drivers",
    "irq": "hardware settings belong to the NIC drivers",
    "mem_start": "hardware settings belong to the NIC drivers",
    "media": "hardware settings belong to the NIC drivers",
}
_QUIET_COMMANDS = {"echo", "sleep", "set", "exit", "true", ":", "printf", "logger"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# Redirections change where output goes, never what is configured: drop them before splitting.
_REDIRECT = re.compile(r"(?:^|(?<=\s))[0-9]*(?:>>|>&|&>|>|<)\s*(?:&?[0-9]+\b|[^\s;&|<>]+)?")
_SEPARATORS = {";", "&&"}


@dataclass
class _Team:
    """A team being built, with what later lines are checked against."""

    draft: TeamDraft
    line: int
    primary: tuple[str, int] | None = None
    vlan_ids: dict[int, tuple[str, int]] = field(default_factory=dict)


@dataclass
class _Device:
    """An interface name the script has given out: names share one namespace in the kernel."""

    kind: str  # "team", "member" or "VLAN adapter"
    team: str
    line: int
    addresses: list[Field] | None  # where ifconfig addresses go; None for a member


@dataclass
class _Options:
    """One ianscfg command line, parsed the way getopt would."""

    values: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    unreadable: bool = False  # an option or argument it does not know: the line is left out
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what, why)


def _parse_options(args: list[str]) -> _Options:
    """Options as getopt reads them: clusters (``-at``), values attached (``-tteam1``) or not."""
    opts = _Options()
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word.startswith("--") or not word.startswith("-") or word == "-":
            if word.startswith("--"):
                problem = (f"ianscfg option {word}", _UNKNOWN_OPTION + _LEFT_OUT)
            else:
                problem = (f"ianscfg argument {word}", f"it follows no option{_LEFT_OUT}")
            opts.problems.append(problem)
            opts.unreadable = True
            continue
        cluster = word[1:]
        for pos, letter in enumerate(cluster):
            if letter in _VALUE_OPTIONS:
                value = cluster[pos + 1 :]
                if not value and index < len(args) and not args[index].startswith("-"):
                    value = args[index]
                    index += 1
                if not value:
                    opts.problems.append((f"ianscfg option -{letter}", f"no value{_LEFT_OUT}"))
                    opts.unreadable = True
                elif letter in opts.values and opts.values[letter] != value:
                    why = f"given twice (-{letter} {opts.values[letter]}); the last one counts"
                    opts.problems.append((f"ianscfg option -{letter} {value}", why))
                    opts.values[letter] = value
                else:
                    opts.values[letter] = value
                break
            if letter in _FLAG_OPTIONS:
                opts.flags.add(letter)
            elif letter == "r":
                opts.unreadable = True
                opts.problems.append(("ianscfg option -r (remove)", _REMOVE_WHY))
            else:
                # An unknown option's arity is unknown: a word after it is taken as its value
                # rather than reported as a second, stray problem.
                what = f"ianscfg option -{letter}"
                last = pos == len(cluster) - 1
                if last and index < len(args) and not args[index].startswith("-"):
                    what = f"{what} {args[index]}"
                    index += 1
                opts.problems.append((what, _UNKNOWN_OPTION + _LEFT_OUT))
                opts.unreadable = True
    return opts


def _continues(line: str) -> bool:
    """Whether a physical line ends in a backslash that joins it with the next one."""
    if line.lstrip().startswith("#"):
        return False
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number of the first physical line, text) of each line, continuations joined."""
    physical = [line.removesuffix("\r") for line in text.split("\n")]
    index = 0
    while index < len(physical):
        start = index
        parts = [physical[index]]
        while _continues(parts[-1]):
            parts[-1] = parts[-1][:-1]
            if index + 1 >= len(physical):
                break
            index += 1
            parts.append(physical[index])
        index += 1
        yield start + 1, "".join(parts)


def _commands(text: str) -> list[list[str]]:
    """The simple commands of a line; ValueError for what a shell would need to run."""
    lexer = shlex.shlex(_REDIRECT.sub(" ", text), posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in _SEPARATORS:
            commands.append([])
        elif token and all(c in ";&|<>()" for c in token):
            raise ValueError(f"shell syntax {token!r}: only simple commands (; and &&) are read")
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


class _Script:
    """The script read so far: its teams and devices, and what did not map, line by line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.teams: dict[str, _Team] = {}
        self.devices: dict[str, _Device] = {}
        self.addresses: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, tuple[str, int]] = {}
        self.primary_v4: dict[tuple[str, str], Field] = {}
        self.unmapped: list[Unmapped] = []
        self.notes: list[str] = []
        self.trailer: list[str] = []

    def warn(self, line: int, what: str, why: str, team: str | None = None) -> None:
        self.unmapped.append(Unmapped(what=what, why=why, line=line, team=team))

    # --- lines and commands ------------------------------------------------------------

    def read(self, text: str) -> None:
        for number, line in logical_lines(text):
            self.line(number, line)

    def line(self, number: int, text: str) -> None:
        shown = " ".join(text.split())
        if not shown or shown.startswith("#"):
            return
        try:
            commands = _commands(text)
        except ValueError as exc:
            self.warn(number, f"line {shorten(shown, 60)!r}", str(exc))
            return
        origin = f"line {number}: {shorten(shown)}"
        for words in commands:
            self.command(number, origin, words)

    def command(self, number: int, origin: str, words: list[str]) -> None:
        shown = shorten(" ".join(words), 60)
        expansion = next((w for w in words if "$" in w or "`" in w), None)
        if _ASSIGNMENT.match(words[0]):
            why = "shell variables are not evaluated; write the values into the commands"
            self.warn(number, f"shell assignment {shorten(words[0], 40)}", why)
            return
        if expansion is not None:
            why = "the script is not run, so shell expansions are unknown; write the values in"
            self.warn(number, f"{shown} ({shorten(expansion, 30)})", why)
            return
        name = words[0].rsplit("/", 1)[-1]
        if name == "ianscfg":
            self.ianscfg(number, origin, words[1:])
        elif name == "ifconfig":
            self.ifconfig(number, origin, words[1:])
        elif name in ("modprobe", "insmod") and any("ians" in w for w in words[1:]):
            self.notes.append(f"{origin}: the ANS driver is not needed (the kernel bond is used)")
        elif name in _QUIET_COMMANDS:
            self.notes.append(f"{origin}: nothing to import")
        else:
            self.warn(number, f"command {shown}", "only ianscfg and ifconfig lines are imported")

    # --- ianscfg -----------------------------------------------------------------------

    def ianscfg(self, number: int, origin: str, args: list[str]) -> None:
        opts = _parse_options(args)
        team = opts.values.get("t")
        for what, why in opts.problems:
            self.warn(number, what, why, team)
        if opts.unreadable:
            return
        acted = False
        if "a" in opts.flags:
            acted = True
            self.add(number, origin, opts)
        elif opts.values.keys() & {"m", "v", "p", "M", "i"}:
            acted = True
            self.warn(number, f"ianscfg {shorten(' '.join(args), 50)}", "no -a: nothing is added")
        if "c" in opts.values:
            acted = True
            self.commit(number, origin, opts.values["c"])
        if "s" in opts.flags:
            acted = True
            self.trailer.append(f"{origin}: {SAVE_NOTE}")
        if not acted and not opts.problems:
            why = "no -a, -c or -s: nothing to import"
            self.warn(number, f"ianscfg {shorten(' '.join(args), 50)}".rstrip(), why)

    def add(self, number: int, origin: str, opts: _Options) -> None:
        team = opts.values.get("t")
        if team is None:
            self.warn(number, "ianscfg -a", "no team is named (-t TEAM)")
            return
        if "m" in opts.values:
            allowed = {"t", "m", "p", "c"}
            action = "adding a member"
        elif "v" in opts.values:
            allowed = {"t", "v", "i", "c"}
            action = "adding a VLAN adapter"
        else:
            allowed = {"t", "M", "c", "V"}
            action = "creating a team"
        for letter in sorted((opts.values.keys() | opts.flags) - allowed - {"a", "s"}):
            value = opts.values.get(letter)
            what = f"ianscfg option -{letter}" + (f" {value}" if value is not None else "")
            self.warn(number, what, f"it does not apply to {action}", team)
        if "m" in opts.values:
            self.member(number, origin, team, opts.values["m"], opts.values.get("p"))
        elif "v" in opts.values:
            self.vlan(number, origin, team, opts.values["v"], opts.values.get("i"))
        else:
            self.team(number, origin, team, opts.values.get("M"))

    def _taken(self, name: str) -> str | None:
        device = self.devices.get(name)
        if device is None:
            return None
        if device.kind == "team":
            return f"{name} is already a team (line {device.line})"
        return f"{name} is already a {device.kind} of {device.team} (line {device.line})"

    def team(self, number: int, origin: str, name: str, mode: str | None) -> None:
        problem = ifname_problem(name)
        if problem is not None:
            self.warn(number, f"team {shorten(name, 30)!r}", problem)
            return
        taken = self._taken(name)
        if taken is not None:
            self.warn(number, f"team {name}", taken)
            return
        draft = TeamDraft(name=Field(name, origin))
        if mode is None:
            draft.comments.append(f"{origin}: no -M: the ANS default mode, AFT")
        elif mode.upper() != "AFT":
            why = _MODES.get(mode.upper(), "not an ANS teaming mode; imported as an AFT team")
            self.warn(number, f"team mode -M {shorten(mode, 20)}", why, name)
        self.teams[name] = _Team(draft=draft, line=number)
        self.devices[name] = _Device("team", name, number, draft.addresses)

    def _team_of(self, number: int, what: str, team: str) -> _Team | None:
        found = self.teams.get(team)
        if found is None:
            why = f"team {team} is not created by an earlier 'ianscfg -a -t {team} -M AFT' line"
            self.warn(number, what, why)
        return found

    def member(self, number: int, origin: str, team: str, nic: str, prio: str | None) -> None:
        owner = self._team_of(number, f"member {shorten(nic, 30)}", team)
        if owner is None:
            return
        problem = ifname_problem(nic)
        if problem is not None:
            self.warn(number, f"member {shorten(nic, 30)!r}", problem, team)
            return
        taken = self._taken(nic)
        if taken is not None:
            self.warn(number, f"member {nic}", taken, team)
            return
        role = "standby"
        rank_origin = origin
        if prio is None:
            rank_origin = f"{origin} (no -p: standby)"
        elif prio.lower() == "primary":
            if owner.primary is None:
                role = "primary"
                owner.primary = (nic, number)
            else:
                first, line = owner.primary
                why = f"{team} already has the primary {first} (line {line}); imported as standby"
                self.warn(number, f"second primary {nic}", why, team)
        elif prio.lower() == "secondary":
            role = "secondary"
        else:
            why = "only primary and secondary exist; imported as standby"
            self.warn(number, f"priority -p {shorten(prio, 20)}", why, team)
        owner.draft.members.append(
            MemberDraft(name=Field(nic, origin), rank_key="role", rank=Field(role, rank_origin))
        )
        self.devices[nic] = _Device("member", team, number, None)

    def vlan(self, number: int, origin: str, team: str, name: str, vid: str | None) -> None:
        what = f"VLAN adapter {shorten(name, 30)}"
        owner = self._team_of(number, what, team)
        if owner is None:
            return
        if vid is None:
            self.warn(number, what, "it has no VLAN id (-i ID)", team)
            return
        number_id = parse_decimal(vid)
        if number_id is None or not 1 <= number_id <= 4094:
            self.warn(number, f"VLAN id -i {shorten(vid, 20)}", "not a VLAN id (1-4094)", team)
            return
        if number_id in owner.vlan_ids:
            first, line = owner.vlan_ids[number_id]
            why = f"{team} already has VLAN {number_id} ({first}, line {line})"
            self.warn(number, f"{what} (VLAN {number_id})", why, team)
            return
        problem = ifname_problem(name)
        if problem is not None:
            self.warn(number, what, problem, team)
            return
        taken = self._taken(name)
        if taken is not None:
            self.warn(number, what, taken, team)
            return
        draft = VlanDraft(name=Field(name, origin), id=Field(number_id, origin))
        owner.draft.vlans.append(draft)
        owner.vlan_ids[number_id] = (name, number)
        self.devices[name] = _Device("VLAN adapter", team, number, draft.addresses)

    def commit(self, number: int, origin: str, team: str) -> None:
        owner = self.teams.get(team)
        if owner is None:
            self.warn(number, f"commit -c {shorten(team, 30)}", f"no team {team} is created above")
            return
        owner.draft.trailer.append(f"{origin}: {COMMIT_NOTE}")

    # --- ifconfig ----------------------------------------------------------------------

    def ifconfig(self, number: int, origin: str, args: list[str]) -> None:
        if not args or args[0].startswith("-") or len(args) == 1:
            self.notes.append(f"{origin}: shows interfaces; nothing to import")
            return
        device, _, label = args[0].partition(":")
        settings = _IfconfigLine.parse(args[1:])
        target = self.devices.get(device)
        what = f"ifconfig {shorten(args[0], 30)}"
        if target is None:
            why = f"{device} is neither a team nor a VLAN adapter created above"
            self.warn(number, what, why)
            return
        team = target.team
        if target.addresses is None:
            if settings.addresses or settings.mac or settings.others or settings.down:
                why = (
                    f"{device} is a member of {team}: its own settings and addresses do not "
                    "survive enslaving (put addresses on the team or a VLAN adapter)"
                )
                self.warn(number, what, why, team)
            return
        for setting, why in settings.others:
            self.warn(number, f"ifconfig setting {shorten(setting, 40)}", why, team)
        if settings.down:
            why = "teamd-py brings every team and VLAN up"
            self.warn(number, f"ifconfig {args[0]} down", why, team)
        if settings.mac is not None:
            self.set_mac(number, origin, target, settings.mac)
        for address in settings.addresses:
            self.address(number, origin, target, (device, label), address)

    def set_mac(self, number: int, origin: str, target: _Device, mac: str) -> None:
        if target.kind != "team":
            why = f"a VLAN adapter has the MAC of its team; set it on {target.team}"
            self.warn(number, f"hw ether {shorten(mac, 20)}", why, target.team)
            return
        problem = mac_problem(mac.lower())
        if problem is not None:
            self.warn(number, f"hw ether {shorten(mac, 20)}", problem, target.team)
            return
        self.teams[target.team].draft.mac = Field(mac.lower(), origin)

    def address(
        self, number: int, origin: str, target: _Device, key: tuple[str, str], entry: _Address
    ) -> None:
        team = target.team
        addresses = target.addresses
        if addresses is None:
            return
        if entry.error is not None:
            self.warn(number, *entry.error, team)
            return
        if entry.prefix is None:
            why = (
                "without a netmask ifconfig takes a classful default; "
                "give 'netmask MASK' or ADDRESS/PREFIX"
            )
            self.warn(number, f"address {shorten(entry.address, 40)}", why, team)
            return
        broadcast = entry.broadcast
        cidr = f"{entry.address}/{entry.prefix}"
        problem = cidr_problem(cidr)
        if problem is not None:
            self.warn(number, f"address {shorten(cidr, 50)}", problem, team)
            return
        iface = ipaddress.ip_interface(cidr)
        if broadcast is not None and isinstance(iface, ipaddress.IPv4Interface):
            expected = str(iface.network.broadcast_address)
            if broadcast != expected:
                why = f"teamd-py uses the broadcast address of {iface.network}, {expected}"
                self.warn(number, f"broadcast {shorten(broadcast, 40)}", why, team)
        # ifconfig sets one IPv4 address per device label: a second one replaces the first.
        old = self.primary_v4.get(key) if iface.version == 4 else None
        old_ip = ipaddress.ip_interface(old.value).ip if old is not None else None
        first = self.addresses.get(iface.ip)
        if first is not None and iface.ip != old_ip:
            device, line = first
            why = f"{iface.ip} is already configured on {device} (line {line})"
            self.warn(number, f"address {cidr}", why, team)
            return
        if old is not None and old_ip is not None:
            addresses.remove(old)
            del self.addresses[old_ip]
            origin = f"{origin} (replaces {old.origin.split(':')[0]}: one IPv4 address per label)"
        item = Field(str(iface), origin)
        addresses.append(item)
        self.addresses[iface.ip] = (key[0], number)
        if iface.version == 4:
            self.primary_v4[key] = item

    # --- the result --------------------------------------------------------------------

    def result(self) -> ImportResult:
        if not self.teams:
            message = "no team: the script has no 'ianscfg -a -t TEAM -M AFT' line"
            warnings = [u.render(self.source) for u in self.unmapped]
            raise ImporterError(self.source, message, warnings=warnings)
        kept = [t.draft for t in self.teams.values() if t.draft.members]
        empty = [t for t in self.teams.values() if not t.draft.members]
        if not kept:
            names = ", ".join(f"{t.draft.name.value} (line {t.line})" for t in empty)
            message = f"no members: no 'ianscfg -at TEAM -m NIC' line for {names}"
            warnings = [u.render(self.source) for u in self.unmapped]
            raise ImporterError(self.source, message, line=empty[0].line, warnings=warnings)
        for team in empty:
            name = team.draft.name.value
            vlans = team.draft.vlans
            lost = f" and its {plural(len(vlans), 'VLAN')} are" if vlans else " is"
            why = f"it has no members (no 'ianscfg -at {name} -m NIC' line); it{lost} left out"
            self.warn(team.line, f"team {name}", why)
        header = [
            f"teamd-py configuration imported from the ianscfg script {self.source}.",
            "Each key's comment names the script line it came from. The 'not imported' lines",
            "have no equivalent here (the import printed them too): check them before use.",
        ]
        text = render(header, kept, self.unmapped, self.source, self.notes, self.trailer)
        lines = {u.line for u in self.unmapped}
        summary = f"{plural(len(lines), 'line')} did not map" if lines else None
        return finish(text, self.source, self.unmapped, summary)


@dataclass(frozen=True)
class _Address:
    """An address of an ifconfig line; ``error`` (what, why) when it cannot be imported."""

    address: str
    prefix: int | None = None
    broadcast: str | None = None
    error: tuple[str, str] | None = None


@dataclass
class _IfconfigLine:
    """The settings of one ifconfig command, before knowing which device they are for."""

    addresses: list[_Address] = field(default_factory=list)
    mac: str | None = None
    down: bool = False
    others: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, args: list[str]) -> _IfconfigLine:
        """Address, netmask (as a prefix, or the reason it is unusable), broadcast, and the rest.

        IPv4 first as ifconfig takes it (one address, then its netmask and broadcast); IPv6
        addresses come with `inet6 add` (or `add`) and carry their own prefix.
        """
        line = cls()
        address: str | None = None
        written = ""  # the address as written, with its /PREFIX if any
        prefix: int | None = None
        error: tuple[str, str] | None = None
        mask: str | None = None
        broadcast: str | None = None
        index = 0
        while index < len(args):
            word = args[index]
            low = word.lower()
            value = args[index + 1] if index + 1 < len(args) else None
            if low == "inet" or low == "up":
                index += 1
            elif low == "down":
                line.down = True
                index += 1
            elif low in ("inet6", "add", "del"):
                step = 1 if low == "inet6" else 0
                op = args[index + step].lower() if index + step < len(args) else ""
                arg = args[index + step + 1] if index + step + 1 < len(args) else None
                if op == "add" and arg is not None:
                    line.addresses.append(_v6(arg))
                else:
                    shown = " ".join(args[index : index + step + 2])
                    line.others.append((shown, "only 'inet6 add ADDRESS/PREFIX' is imported"))
                index += step + 2
            elif low == "netmask" and value is not None:
                mask = value
                try:
                    prefix, error = netmask_prefix(value), None
                except ValueError as exc:
                    prefix, error = None, (f"netmask {shorten(value, 40)}", str(exc))
                index += 2
            elif low == "broadcast" and value is not None:
                broadcast = value
                index += 2
            elif low in _IFCONFIG_ONE_ARG and value is not None:
                line.others.append((f"{word} {value}", _IFCONFIG_ONE_ARG[low]))
                index += 2
            elif low == "hw" and value is not None and index + 2 < len(args):
                if value.lower() == "ether":
                    line.mac = args[index + 2]
                else:
                    line.others.append((f"hw {value}", "only 'hw ether MAC' is imported"))
                index += 3
            elif address is None and _looks_like_address(word):
                written = word
                address, slash, tail = word.partition("/")
                if slash:
                    prefix = parse_decimal(tail)
                    error = None if prefix is not None else (word, "not ADDRESS/PREFIX")
                index += 1
            else:
                line.others.append((word, "not an ifconfig setting the importer knows"))
                index += 1
        if address is None:
            for word, given in (("netmask", mask), ("broadcast", broadcast)):
                if given is not None:
                    why = "no address on this line to apply it to; give ADDRESS/PREFIX"
                    line.others.append((f"{word} {given}", why))
        elif ":" in address:
            line.addresses.append(_v6(written))
            if mask is not None:
                why = "a netmask is for IPv4; an IPv6 address carries its /PREFIX"
                line.others.append((f"netmask {mask}", why))
        else:
            if error is not None:
                error = (error[0], f"{error[1]}; the address {address} is not imported")
            line.addresses.append(_Address(address, prefix, broadcast, error))
        return line


def _looks_like_address(word: str) -> bool:
    try:
        ipaddress.ip_address(word.split("/", 1)[0])
    except ValueError:
        return False
    return True


def _v6(text: str) -> _Address:
    head, slash, tail = text.partition("/")
    if not slash:
        why = "an IPv6 address needs its prefix length (ADDRESS/PREFIX)"
        return _Address(head, error=(f"address {shorten(text, 50)}", why))
    length = parse_decimal(tail)
    if length is None:
        return _Address(head, error=(f"address {shorten(text, 50)}", "not ADDRESS/PREFIX"))
    return _Address(head, length)


def import_ianscfg(text: str, source: str) -> ImportResult:
    """The config an ianscfg setup script describes; ImporterError when it has no usable team."""
    script = _Script(source)
    script.read(text)
    return script.result()
