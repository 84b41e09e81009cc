"""Fixtures for kernel tests: a fresh switch-and-server topology and the daemon running in it."""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from teamd_py.sandbox.topology import Topology, require_root
from teamd_py.wire.packet_socket import open_receiver

ROOT = Path(__file__).resolve().parents[2]
_counter = itertools.count()

SEED_CONFIG = """
[[team]]
name = "team1"
preempt = "{preempt}"
  [team.notify]
  count = 3
  interval_ms = 50
  [[team.member]]
  name = "eth0"
  role = "primary"
  [[team.member]]
  name = "eth1"
  role = "secondary"
  [[team.vlan]]
  name = "vadapt1"
  id = 10
  addresses = ["192.168.1.1/24", "fd00:10::1/64"]
  [[team.vlan]]
  name = "vadapt2"
  id = 15
  addresses = ["192.168.2.1/24"]
"""


@pytest.fixture
async def topo() -> AsyncIterator[Topology]:
    require_root()
    topology = Topology(prefix=f"tdp{os.getpid()}n{next(_counter)}")
    await topology.create()
    try:
        yield topology
    finally:
        await topology.destroy()


class DaemonRun:
    """`teamd-py run` in the server namespace, its JSON log lines collected from a file."""

    def __init__(self, topo: Topology, config: Path, log: Path) -> None:
        self.topo = topo
        self.config = config
        self.log = log
        self.process: trio.Process | None = None

    async def start(self, nursery: trio.Nursery, wait_ready: bool = True) -> None:
        self.log.write_text("")
        argv = [
            "ip",
            "netns",
            "exec",
            self.topo.server,
            sys.executable,
            "-m",
            "teamd_py",
            "run",
            "--config",
            str(self.config),
            "--debug",
        ]
        with self.log.open("ab") as out:
            self.process = await nursery.start(
                lambda task_status: trio.run_process(
                    argv, stdout=out, stderr=out, check=False, task_status=task_status
                )
            )
        if wait_ready:
            await self.wait_for("ready")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def of(self, event: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events()
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        ]

    async def wait_for(self, event: str, timeout: float = 30, **match: Any) -> dict[str, Any]:
        with trio.move_on_after(timeout):
            while True:
                found = self.of(event, **match)
                if found:
                    return found[-1]
                if self.process is not None and self.process.returncode is not None:
                    break
                await trio.sleep(0.02)
        raise AssertionError(f"no {event} {match} in the daemon's log:\n{self.log.read_text()}")

    async def exit_code(self, timeout: float = 30) -> int:
        assert self.process is not None
        with trio.fail_after(timeout):
            return await self.process.wait()

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return await self.exit_code()


@pytest.fixture
def daemon(topo: Topology, tmp_path: Path) -> Callable[..., DaemonRun]:
    def make(config: str | None = None, preempt: str = "always") -> DaemonRun:
        path = tmp_path / f"config{next(_counter)}.toml"
        path.write_text(config if config is not None else SEED_CONFIG.format(preempt=preempt))
        return DaemonRun(topo, path, tmp_path / f"daemon{next(_counter)}.log")

    return make


async def link_json(topo: Topology, device: str) -> dict[str, Any]:
    out = await topo.srv("ip", "-d", "-j", "link", "show", "dev", device)
    return json.loads(out)[0]


async def active_member(topo: Topology, team: str = "team1") -> str | None:
    info = await link_json(topo, team)
    return info["linkinfo"]["info_data"].get("active_slave")


async def addresses(topo: Topology, device: str) -> set[str]:
    out = json.loads(await topo.srv("ip", "-j", "addr", "show", "dev", device))[0]
    return {
        f"{a['local']}/{a['prefixlen']}"
        for a in out.get("addr_info", [])
        if a.get("scope") != "link"
    }


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


@contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Enter a namespace for the current thread only while sockets are created."""
    with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{name}") as target:
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back home")


def capture(topo: Topology, port: str) -> socket.socket:
    """A packet socket on a switch port; frames arrive with their VLAN tag restored."""
    with in_netns(topo.switch):
        sock = open_receiver(port)
    sock.setblocking(False)
    return sock
