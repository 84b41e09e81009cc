"""The systems compared, each able to start on a topology, switch on request and restart.

teamd-py runs as `teamd-py run` in the server namespace; the kernel bond is configured with `ip`
and monitors itself (miimon or ARP); teamd runs its activebackup runner on a team device. All three
carry the same VLANs and addresses, so the same traffic and the same faults apply to each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from teamd_py.sandbox.topology import BRIDGE_MAC, Topology, sh

from .traffic import LinkOps

TEAM = "team1"
PRIMARY, SECONDARY = "eth0", "eth1"
VLANS = (("vadapt1", 10, "192.168.1.1/24"), ("vadapt2", 15, "192.168.2.1/24"))
TARGETS = (("192.168.1.254", 10), ("192.168.2.254", 15))
SERVER_IP, GATEWAY_IP = "192.168.1.1", "192.168.1.254"


class SystemError_(RuntimeError):
    """A system did not start or did not answer as expected."""


# -- processes and their logs ---------------------------------------------------------------------


class LogFollower:
    """JSON log lines of a child, read incrementally so polling stays cheap on a slow CPU."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pos = 0
        self._partial = ""
        self.events: list[dict[str, Any]] = []

    def poll(self) -> None:
        with self.path.open() as f:
            f.seek(self._pos)
            chunk = f.read()
            self._pos = f.tell()
        text = self._partial + chunk
        *lines, self._partial = text.split("\n")
        for line in lines:
            if line.startswith("{"):
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    continue

    def of(self, event: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        ]

    async def wait_for(
        self, event: str, timeout: float, after: int = 0, **match: Any
    ) -> dict[str, Any]:
        """The first matching event among those logged from index `after` on."""
        with trio.move_on_after(timeout):
            while True:
                self.poll()
                for e in self.events[after:]:
                    if e.get("event") == event and all(e.get(k) == v for k, v in match.items()):
                        return e
                await trio.sleep(0.05)
        raise SystemError_(f"no {event} {match} within {timeout} s in {self.path}")


async def spawn(argv: list[str], log: Path) -> trio.Process:
    with log.open("ab") as out:
        return await trio.lowlevel.open_process(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


async def kill9(proc: trio.Process | None) -> None:
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


async def stop(proc: trio.Process | None, timeout: float = 10) -> None:
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    with trio.move_on_after(timeout):
        await proc.wait()
        return
    await kill9(proc)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kb(pid: int) -> int:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemError_(f"no VmHWM for {pid}")


async def ip_batch(netns: str | None, commands: list[str]) -> None:
    """Many `ip` commands in one process start (`netns` None: this namespace)."""
    where = [] if netns is None else ["-n", netns]
    proc = await trio.run_process(
        ["ip", *where, "-batch", "-"],
        stdin="\n".join(commands).encode() + b"\n",
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemError_(f"ip -batch in {netns}: {proc.stderr.decode(errors='replace')}")


def vlan_commands(team: str = TEAM) -> list[str]:
    out = []
    for name, vid, address in VLANS:
        out += [
            f"link add link {team} name {name} type vlan id {vid}",
            f"addr add {address} dev {name}",
            f"link set {name} up",
        ]
    return out


async def control(path: str, request: dict[str, Any], timeout: float = 10) -> Any:
    """One request on teamd-py's control socket, spoken directly: no client process to start."""
    with trio.fail_after(timeout):
        stream = await trio.open_unix_socket(path)
        async with stream:
            await stream.send_all(json.dumps(request).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                buf += chunk
    reply = json.loads(buf.split(b"\n", 1)[0])
    if not reply.get("ok"):
        raise SystemError_(f"control {request['command']}: {reply.get('error')}")
    return reply.get("result")


@dataclass
class BatchTopology(Topology):
    """The same topology built with a handful of process starts instead of several per port:
    64 ports cost half a minute of `ip` starts under the guest otherwise.

    With `port_vlans` the bridge filters VLANs like a real switch with a VLAN per team: each port
    carries only its VLANs, so one team's broadcasts (every ARP probe) do not reach the others.
    """

    port_vlans: dict[str, tuple[int, ...]] | None = None

    async def create(self) -> None:
        await self.destroy()
        await sh("ip", "netns", "add", self.server)
        await sh("ip", "netns", "add", self.switch)
        await self.sw("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        await ip_batch(
            None,
            [
                f"link add {m} netns {self.server} type veth peer name {self.port(m)} "
                f"netns {self.switch}"
                for m in self.members
            ],
        )
        ports = [self.port(m) for m in self.members]
        await self.sw("sysctl", "-qw", *(f"net.ipv4.conf.{p}.arp_ignore=8" for p in ports))
        filtering = " vlan_filtering 1" if self.port_vlans else ""
        commands = ["link set lo up", f"link add br0 address {BRIDGE_MAC} type bridge{filtering}"]
        commands += [f"link set {p} master br0 up" for p in ports] + ["link set br0 up"]
        for vlan, address in self.gateways:
            device = self.gateway_device(vlan)
            if vlan is not None:
                commands.append(f"link add link br0 name {device} type vlan id {vlan}")
            commands += [f"addr add {address} dev {device} nodad", f"link set {device} up"]
        await ip_batch(self.switch, commands)
        await ip_batch(self.server, ["link set lo up"])
        if self.port_vlans:
            vlans = sorted({v for vids in self.port_vlans.values() for v in vids})
            bridge = [f"vlan add dev br0 vid {v} self" for v in vlans]
            for port, vids in self.port_vlans.items():
                bridge.append(f"vlan del dev {port} vid 1")
                bridge += [f"vlan add dev {port} vid {v}" for v in vids]
            proc = await trio.run_process(
                ["ip", "netns", "exec", self.switch, "bridge", "-batch", "-"],
                stdin="\n".join(bridge).encode() + b"\n",
                capture_stderr=True,
                check=False,
            )
            if proc.returncode != 0:
                raise SystemError_(f"bridge -batch: {proc.stderr.decode(errors='replace')}")


# -- the systems ----------------------------------------------------------------------------------


@dataclass
class System:
    """What the benchmark needs from each system under test."""

    key: str
    label: str
    probe: tuple[int, int] | None = None  # (interval_ms, missed_max) when it probes paths
    restartable: bool = True
    pid: int | None = None
    topo: Topology | None = None
    workdir: Path | None = None
    notes: list[str] = field(default_factory=list)

    async def start(self, topo: Topology, workdir: Path) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Stop whatever this system runs (the topology goes away with its namespaces)."""

    async def active(self) -> str | None:
        assert self.topo is not None
        out = await sh("ip", "-n", self.topo.server, "-d", "-j", "link", "show", "dev", TEAM)
        return json.loads(out)[0]["linkinfo"]["info_data"].get("active_slave")

    async def planned_switch(self, member: str) -> None:
        raise NotImplementedError

    async def release(self) -> None:
        """Undo a planned switch: back to the system's own choice of member."""
        raise NotImplementedError

    async def restart(self) -> None:
        raise NotImplementedError

    def tag(self, during_traffic: bool) -> None:
        """Attribute the switchovers logged since the last call to traffic or to quiet time."""

    def decisions_ms(self) -> list[tuple[float, bool]]:
        """(decision_ms, whether traffic was flowing) of every switchover the system logged."""
        return []


def teamd_py_config(socket_path: str, probe: tuple[int, int] | None) -> str:
    lines = [
        "[daemon]",
        f'control_socket = "{socket_path}"',
        "",
        "[[team]]",
        f'name = "{TEAM}"',
        'preempt = "always"',
        "  [team.notify]",
        "  count = 3",
        "  interval_ms = 50",
        "  [team.damping]",  # repetitions seconds apart are not a flapping cable
        "  enabled = false",
        f'  [[team.member]]\n  name = "{PRIMARY}"\n  role = "primary"',
        f'  [[team.member]]\n  name = "{SECONDARY}"\n  role = "secondary"',
    ]
    for name, vid, address in VLANS:
        lines.append(
            f'  [[team.vlan]]\n  name = "{name}"\n  id = {vid}\n  addresses = ["{address}"]'
        )
    if probe is not None:
        interval, missed = probe
        targets = ", ".join(f'{{ ip = "{ip}", vlan = {vid} }}' for ip, vid in TARGETS)
        lines += [
            "  [team.arp]",
            f"  interval_ms = {interval}",
            f"  missed_max = {missed}",
            "  rise = 2",
            f"  targets = [{targets}]",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class TeamdPy(System):
    """`teamd-py run` on the seed's team, carrier only or with ARP probing of both gateways."""

    proc: trio.Process | None = None
    log: LogFollower | None = None
    _decisions: list[tuple[float, bool]] = field(default_factory=list)
    _seen: int = 0
    ready_s: float | None = None

    @property
    def socket(self) -> str:
        assert self.workdir is not None
        return str(self.workdir / f"{self.key}.sock")

    async def start(self, topo: Topology, workdir: Path) -> None:
        self.topo, self.workdir = topo, workdir
        config = workdir / f"{self.key}.toml"
        config.write_text(teamd_py_config(self.socket, self.probe))
        await self._launch()

    async def _launch(self) -> None:
        assert self.topo is not None and self.workdir is not None
        if self.log is not None:  # a restart, always inside a measured trial
            self.tag(during_traffic=True)
        self._seen = 0
        path = self.workdir / f"{self.key}.{os.urandom(3).hex()}.log"
        path.write_text("")
        argv = ["ip", "netns", "exec", self.topo.server, sys.executable, "-m", "teamd_py"]
        argv += ["run", "--config", str(self.workdir / f"{self.key}.toml")]
        started = trio.current_time()
        self.proc = await spawn(argv, path)
        self.pid = self.proc.pid
        self.log = LogFollower(path)
        await self.log.wait_for("ready", timeout=60)
        self.ready_s = trio.current_time() - started
        if self.probe is not None:  # both members' paths proven before anything is measured
            for member in (PRIMARY, SECONDARY):
                await self.log.wait_for("path_up", timeout=20, member=member)

    def tag(self, during_traffic: bool) -> None:
        if self.log is None:
            return
        self.log.poll()
        new = self.log.events[self._seen :]
        self._seen = len(self.log.events)
        self._decisions += [
            (float(e["decision_ms"]), during_traffic)
            for e in new
            if e.get("event") == "switchover" and e.get("decision_ms") is not None  # kernel: null
        ]

    def decisions_ms(self) -> list[tuple[float, bool]]:
        self.tag(during_traffic=False)
        return list(self._decisions)

    async def close(self) -> None:
        self.tag(during_traffic=False)
        await stop(self.proc)

    async def planned_switch(self, member: str) -> None:
        await control(self.socket, {"command": "switch", "team": TEAM, "member": member})

    async def release(self) -> None:
        await control(self.socket, {"command": "switch", "team": TEAM, "member": None})

    async def restart(self) -> None:
        await kill9(self.proc)
        await self._launch()


@dataclass
class KernelBond(System):
    """The bonding driver monitoring its own members: miimon, or ARP with validation."""

    options: str = "miimon 100"
    restartable: bool = False
    ops: LinkOps | None = None

    async def start(self, topo: Topology, workdir: Path) -> None:
        self.topo, self.workdir = topo, workdir
        commands = [f"link add {TEAM} type bond mode active-backup {self.options}"]
        for member in (PRIMARY, SECONDARY):
            commands += [f"link set {member} down", f"link set {member} master {TEAM}"]
        commands += [f"link set {TEAM} type bond primary {PRIMARY}"]
        commands += [f"link set {m} up" for m in (PRIMARY, SECONDARY, TEAM)]
        await ip_batch(topo.server, commands + vlan_commands())
        self.ops = LinkOps(topo.server)

    async def close(self) -> None:
        if self.ops is not None:
            self.ops.close()

    async def planned_switch(self, member: str) -> None:
        assert self.ops is not None
        self.ops.bond_active(TEAM, member)

    async def release(self) -> None:
        assert self.ops is not None
        self.ops.bond_active(TEAM, PRIMARY)


def teamd_config(watchers: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "device": TEAM,
            "runner": {"name": "activebackup"},
            "link_watch": watchers,
            "ports": {PRIMARY: {"prio": 100}, SECONDARY: {"prio": 50}},
        }
    )


def arp_ping_watchers(interval: int, missed: int) -> list[dict[str, Any]]:
    """One arp_ping watcher per gateway; teamd counts a port up when any of them says so."""
    return [
        {
            "name": "arp_ping",
            "interval": interval,
            "missed_max": missed,
            "source_host": f"{ip.rsplit('.', 1)[0]}.1",
            "target_host": ip,
            "vlanid": vid,
            "send_always": True,
        }
        for ip, vid in TARGETS
    ]


@dataclass
class Teamd(System):
    """teamd's activebackup runner; its device outlives it (-N), a restart takes it over (-o)."""

    watchers: list[dict[str, Any]] = field(default_factory=lambda: [{"name": "ethtool"}])
    proc: trio.Process | None = None

    async def start(self, topo: Topology, workdir: Path) -> None:
        self.topo, self.workdir = topo, workdir
        await self._launch(take_over=False)
        await ip_batch(topo.server, [f"link set {TEAM} up", *vlan_commands()])

    async def _launch(self, take_over: bool) -> None:
        assert self.topo is not None and self.workdir is not None
        argv = ["ip", "netns", "exec", self.topo.server, "teamd", "-N"]
        argv += ["-c", teamd_config(self.watchers)] + (["-o"] if take_over else [])
        self.proc = await spawn(argv, self.workdir / f"{self.key}.log")
        self.pid = self.proc.pid
        with trio.fail_after(20):
            while (
                await self._ctl("state", "item", "get", "runner.active_port", check=False) is None
            ):
                if self.proc.returncode is not None:
                    raise SystemError_(f"teamd exited: {self.proc.returncode}")
                await trio.sleep(0.05)

    async def _ctl(self, *args: str, check: bool = True) -> str | None:
        assert self.topo is not None
        argv = ["ip", "netns", "exec", self.topo.server, "teamdctl", TEAM, *args]
        proc = await trio.run_process(argv, capture_stdout=True, capture_stderr=True, check=False)
        if proc.returncode != 0:
            if check:
                raise SystemError_(f"teamdctl {' '.join(args)}: {proc.stderr.decode().strip()}")
            return None
        return proc.stdout.decode().strip()

    async def active(self) -> str | None:
        return await self._ctl("state", "item", "get", "runner.active_port", check=False) or None

    async def close(self) -> None:
        await stop(self.proc)

    async def planned_switch(self, member: str) -> None:
        await self._ctl("state", "item", "set", "runner.active_port", member)

    async def release(self) -> None:
        await self._ctl("state", "item", "set", "runner.active_port", PRIMARY)

    async def restart(self) -> None:
        await kill9(self.proc)
        await self._launch(take_over=True)


def all_systems() -> list[System]:
    """The seven systems of the comparison, in table order."""
    return [
        TeamdPy("tdp-carrier", "teamd-py, carrier only"),
        TeamdPy("tdp-arp100", "teamd-py, ARP 100 ms x 3", probe=(100, 3)),
        TeamdPy("tdp-arp20", "teamd-py, ARP 20 ms x 3", probe=(20, 3)),
        KernelBond("bond-miimon", "bonding, miimon 100", options="miimon 100"),
        KernelBond(
            "bond-arp",
            "bonding, ARP 100 ms, validate all",
            probe=(100, 2),
            options="arp_interval 100 arp_validate all "
            "arp_ip_target " + ",".join(ip for ip, _ in TARGETS),
        ),
        Teamd("teamd-ethtool", "teamd, ethtool watcher"),
        Teamd(
            "teamd-arp",
            "teamd, arp_ping 100 ms x 3",
            probe=(100, 3),
            watchers=arp_ping_watchers(100, 3),
        ),
    ]
