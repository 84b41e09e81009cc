"""A server with two NICs cabled to a switch that also holds a gateway on each VLAN.

Everything lives in network namespaces made here: `<prefix>-srv` is the server (the daemon runs
there), `<prefix>-sw` the switch. Each server NIC `ethN` is a veth whose peer `pN` is a port of the
bridge `br0`; the gateway's addresses sit on VLAN devices of the bridge itself, so tagged frames
from the team reach them. Hygiene from experience: the bridge has a fixed MAC (removing a port must
not change the gateway's MAC), switch ports answer no ARP of their own (`arp_ignore=8`), and IPv6 is
off on them (autoconfiguration frames disturb loss counts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import trio

BRIDGE_MAC = "02:00:5e:00:fe:01"


class CommandFailed(RuntimeError):
    pass


async def sh(*argv: str, check: bool = True) -> str:
    """Run a command and return its stdout; a failure raises with its stderr."""
    proc = await trio.run_process(list(argv), capture_stdout=True, capture_stderr=True, check=False)
    if check and proc.returncode != 0:
        raise CommandFailed(
            f"{' '.join(argv)}: exit {proc.returncode}: "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout.decode(errors="replace")


@dataclass
class Topology:
    prefix: str = field(default_factory=lambda: f"tdp{os.getpid()}")
    members: tuple[str, ...] = ("eth0", "eth1")
    gateways: tuple[tuple[int | None, str], ...] = (
        (10, "192.168.1.254/24"),
        (15, "192.168.2.254/24"),
    )

    @property
    def server(self) -> str:
        return f"{self.prefix}-srv"

    @property
    def switch(self) -> str:
        return f"{self.prefix}-sw"

    def port(self, member: str) -> str:
        return f"p{self.members.index(member)}"

    def gateway_device(self, vlan: int | None) -> str:
        return "br0" if vlan is None else f"br0.{vlan}"

    async def srv(self, *argv: str, check: bool = True) -> str:
        return await sh("ip", "netns", "exec", self.server, *argv, check=check)

    async def sw(self, *argv: str, check: bool = True) -> str:
        return await sh("ip", "netns", "exec", self.switch, *argv, check=check)

    async def create(self) -> None:
        await self.destroy()
        await sh("ip", "netns", "add", self.server)
        await sh("ip", "netns", "add", self.switch)
        for ns in (self.server, self.switch):
            await sh("ip", "-n", ns, "link", "set", "lo", "up")
        await self.sw("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        await self.sw("ip", "link", "add", "br0", "address", BRIDGE_MAC, "type", "bridge")
        for member in self.members:
            port = self.port(member)
            await sh(
                "ip",
                "link",
                "add",
                member,
                "netns",
                self.server,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                self.switch,
            )
            await self.sw("sysctl", "-qw", f"net.ipv4.conf.{port}.arp_ignore=8")
            await self.sw("ip", "link", "set", port, "master", "br0", "up")
        await self.sw("ip", "link", "set", "br0", "up")
        for vlan, address in self.gateways:
            device = self.gateway_device(vlan)
            if vlan is not None and not await self.sw("ip", "link", "show", device, check=False):
                await self.sw(
                    "ip",
                    "link",
                    "add",
                    "link",
                    "br0",
                    "name",
                    device,
                    "type",
                    "vlan",
                    "id",
                    str(vlan),
                )
            if ":" in address:  # the slash form, since the device name has a dot
                await self.sw("sysctl", "-qw", f"net/ipv6/conf/{device}/disable_ipv6=0")
            await self.sw("ip", "addr", "add", address, "dev", device, "nodad")
            await self.sw("ip", "link", "set", device, "up")

    async def destroy(self) -> None:
        for ns in (self.server, self.switch):
            await sh("ip", "netns", "del", ns, check=False)

    # -- faults -----------------------------------------------------------------------------------

    async def cut_carrier(self, member: str) -> None:
        """The cable is pulled: the switch port goes down, so the NIC loses carrier."""
        await self.sw("ip", "link", "set", self.port(member), "down")

    async def restore_carrier(self, member: str) -> None:
        await self.sw("ip", "link", "set", self.port(member), "up")

    async def plug(self, member: str) -> None:
        """A NIC appears (hot-plug): a new veth with its port in the switch."""
        port = self.port(member)
        await self.sw(
            "ip", "link", "add", port, "type", "veth", "peer", "name", member, "netns", self.server
        )
        await self.sw("sysctl", "-qw", f"net.ipv4.conf.{port}.arp_ignore=8")
        await self.sw("ip", "link", "set", port, "master", "br0", "up")

    async def cut_path(self, member: str) -> None:
        """A silent failure: the port leaves the switch, so the NIC keeps carrier but reaches
        nobody (the port answers no ARP itself, see arp_ignore)."""
        await self.sw("ip", "link", "set", self.port(member), "nomaster")

    async def restore_path(self, member: str) -> None:
        await self.sw("ip", "link", "set", self.port(member), "master", "br0")

    # -- checks -----------------------------------------------------------------------------------

    async def ping(
        self, target: str, device: str, count: int = 3, interval: float = 0.05, deadline: int = 5
    ) -> int:
        """Replies received from `target` through `device` in the server namespace."""
        out = await self.srv(
            "ping",
            "-n",
            "-q",
            "-c",
            str(count),
            "-i",
            str(interval),
            "-w",
            str(deadline),
            "-I",
            device,
            target,
            check=False,
        )
        # exit 1 only means replies were missing; the summary line says how many
        for line in out.splitlines():
            if "received" in line:
                return int(line.split(",")[1].split()[0])
        raise CommandFailed(f"ping gave no summary: {out!r}")


def require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionError("network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")
