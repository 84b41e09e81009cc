"""Fixtures for kernel tests: a fresh switch-and-server topology and the daemon running in it."""

from __future__ import annotations

import itertools
import json
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from teamd_py.sandbox.daemon import DaemonRun
from teamd_py.sandbox.netns import in_netns
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


@pytest.fixture
def daemon(topo: Topology, tmp_path: Path) -> Callable[..., DaemonRun]:
    def make(
        config: str | None = None, preempt: str = "always", topo: Topology = topo
    ) -> DaemonRun:
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


def capture(topo: Topology, port: str) -> socket.socket:
    """A packet socket on a switch port; frames arrive with their VLAN tag restored."""
    with in_netns(topo.switch):
        sock = open_receiver(port)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def steady_flow(
    topo: Topology, device: str, gateway: str, count: int
) -> AsyncIterator[list[int]]:
    """100 pings a second through `device` while the block runs (it starts 0.3 s in); the list
    gets the number of replies once they are all in."""
    replies: list[int] = []

    async def flow() -> None:
        replies.append(
            await topo.ping(gateway, device, count=count, interval=0.01, deadline=count // 100 + 10)
        )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(flow)
        await trio.sleep(0.3)
        yield replies
