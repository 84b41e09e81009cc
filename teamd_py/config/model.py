"""The validated configuration: immutable values the rest of the daemon can trust.

The loader checks ranges, names, addresses and uniqueness before building these objects,
so consumers never re-validate; everything is frozen so a running team can hold a
config without fearing that someone else changes it underneath.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import TypeAlias

IPInterface: TypeAlias = IPv4Interface | IPv6Interface


class Preempt(StrEnum):
    """Whether the team goes back to a better-ranked member once that member is healthy."""

    ALWAYS = "always"
    NEVER = "never"


class Role(StrEnum):
    """A member's named rank; a shorthand for a fixed priority."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    STANDBY = "standby"

    @property
    def priority(self) -> int:
        """The priority this role stands for, so roles and explicit priorities compare."""
        return ROLE_PRIORITY[self]


ROLE_PRIORITY: dict[Role, int] = {Role.PRIMARY: 200, Role.SECONDARY: 100, Role.STANDBY: 0}


@dataclass(frozen=True)
class MemberConfig:
    """A NIC enslaved to the team; the highest priority healthy member carries traffic."""

    name: str
    priority: int
    role: Role | None = None  # None when the file gave an explicit priority


@dataclass(frozen=True)
class VlanConfig:
    """An 802.1Q device stacked on the team, with its own addresses."""

    name: str
    id: int
    addresses: tuple[IPInterface, ...] = ()


@dataclass(frozen=True)
class CarrierConfig:
    """How long a carrier change must persist before it counts (debounces flapping links)."""

    up_delay_ms: int = 0
    down_delay_ms: int = 0
    kernel_miimon_ms: int = 100  # the kernel's own carrier check: the safety net; 0 = off

    def kernel_monitor(self) -> tuple[int, int, int]:
        """(miimon, updelay, downdelay) for the bond; the kernel wants delays in miimon steps."""
        miimon = self.kernel_miimon_ms
        if not miimon:
            return 0, 0, 0
        return (
            miimon,
            -(-self.up_delay_ms // miimon) * miimon,
            -(-self.down_delay_ms // miimon) * miimon,
        )


@dataclass(frozen=True)
class DampingConfig:
    """Carrier flap damping: each carrier loss adds `penalty`, halving every `half_life_ms`."""

    enabled: bool = True
    penalty: int = 1000
    suppress: int = 2000
    reuse: int = 750
    half_life_ms: int = 5000


@dataclass(frozen=True)
class NotifyConfig:
    """Announcements (gratuitous ARP / unsolicited NA) sent after each switch of member."""

    count: int = 3
    interval_ms: int = 200


class PathPolicy(StrEnum):
    """When a member's path counts as up: any target answers, or all of them do."""

    ANY = "any"
    ALL = "all"


@dataclass(frozen=True)
class ProbeTarget:
    """A neighbour to probe, untagged on the team (`vlan` None) or through one of its VLANs."""

    ip: IPv4Address | IPv6Address
    vlan: int | None = None


@dataclass(frozen=True)
class ProbeConfig:
    """Path probing, ARP (`[team.arp]`) or IPv6 neighbour solicitation (`[team.ns]`)."""

    targets: tuple[ProbeTarget, ...]
    interval_ms: int = 100
    missed_max: int = 3
    rise: int = 2
    policy: PathPolicy = PathPolicy.ANY


@dataclass(frozen=True)
class HookConfig:
    """A command run on every switchover and team state change, keepalived-style: the command's
    arguments get the team, the event, the old and new member and the reason appended."""

    command: tuple[str, ...]
    timeout_ms: int = 5000


@dataclass(frozen=True)
class DaemonConfig:
    """The `[daemon]` table: how the daemon is reached and what it leaves behind."""

    control_socket: str = "/run/teamd-py/control.sock"
    control_group: str | None = None  # may switch and reload, besides root
    metrics_listen: str | None = None  # "127.0.0.1:9477" serves /metrics over HTTP
    teardown_on_stop: bool = False  # delete the teams' devices on SIGTERM (default: keep them)
    netlink_buffer_kib: int = 8192  # a bigger buffer overflows later under event storms


@dataclass(frozen=True)
class TeamConfig:
    """One logical device (a kernel bond) and everything stacked on it."""

    name: str
    mac: str | None = None  # None = auto; otherwise lowercase "aa:bb:cc:dd:ee:ff"
    addresses: tuple[IPInterface, ...] = ()
    preempt: Preempt = Preempt.ALWAYS
    preempt_delay_ms: int = 0
    carrier: CarrierConfig = field(default_factory=CarrierConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    damping: DampingConfig = field(default_factory=DampingConfig)
    members: tuple[MemberConfig, ...] = ()  # in file order, which breaks priority ties
    vlans: tuple[VlanConfig, ...] = ()
    arp: ProbeConfig | None = None  # None: no ARP probing
    ns: ProbeConfig | None = None  # None: no IPv6 neighbour probing
    hook: HookConfig | None = None

    @property
    def probes(self) -> tuple[ProbeConfig, ...]:
        return tuple(p for p in (self.arp, self.ns) if p is not None)

    def member(self, name: str) -> MemberConfig:
        """The member called ``name``; KeyError if the team has none by that name."""
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)


@dataclass(frozen=True)
class Config:
    """The whole file: its teams, and where it came from for messages."""

    teams: tuple[TeamConfig, ...]
    source: str = "<config>"
    daemon: DaemonConfig = field(default_factory=DaemonConfig)

    def team(self, name: str) -> TeamConfig:
        """The team called ``name``; KeyError if there is none."""
        for team in self.teams:
            if team.name == name:
                return team
        raise KeyError(name)
