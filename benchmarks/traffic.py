"""Traffic and faults from one process: sequenced UDP both ways, link changes over netlink.

Why one process: under User-Mode Linux every interpreter start costs hundreds of milliseconds and
the guest has one CPU, so helper processes would both distort the timing and steal the CPU from the
systems measured. A socket keeps the namespace it was created in, so this process enters a
namespace only while it creates a socket (setns on the current thread) and then works from home.
Faults go out over a netlink socket opened the same way, so the fault's timestamp is taken right
next to the request that causes it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from array import array
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import trio
from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_NEWLINK
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg

from teamd_py.kernel.netlink import encode
from teamd_py.sandbox.netns import in_netns

NLMSG_ERROR = 2
PAYLOAD = struct.Struct("!II")  # trial id, sequence number


class LinkOps:
    """Synchronous rtnetlink requests in one namespace: a fault is one short syscall pair."""

    def __init__(self, netns: str) -> None:
        self.netns = netns
        with in_netns(netns):
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._sock.settimeout(2.0)
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def index(self, name: str) -> int:
        with in_netns(self.netns):
            return socket.if_nametoindex(name)

    def _request(self, msg: ifinfmsg, what: str) -> None:
        self._seq += 1
        self._sock.send(encode(msg, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, self._seq))
        while True:
            data = self._sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
                if kind == NLMSG_ERROR and seq == self._seq:
                    (code,) = struct.unpack_from("=i", data, offset + 16)
                    if code:
                        raise OSError(-code, f"{what} in {self.netns}")
                    return
                offset += max(length, 16)

    @staticmethod
    def _msg(index: int, **fields: object) -> ifinfmsg:
        msg = ifinfmsg()
        msg["family"] = socket.AF_UNSPEC
        msg["index"] = index
        for key, value in fields.items():
            msg[key] = value
        return msg

    def set_up(self, name: str, up: bool) -> None:
        msg = self._msg(self.index(name), flags=IFF_UP if up else 0, change=IFF_UP)
        self._request(msg, f"set {name} {'up' if up else 'down'}")

    def set_master(self, name: str, master: str | None) -> None:
        target = 0 if master is None else self.index(master)
        self._request(self._msg(self.index(name), attrs=[["IFLA_MASTER", target]]), "master")

    def bond_active(self, bond: str, member: str) -> None:
        data = {"attrs": [["IFLA_BOND_ACTIVE_SLAVE", self.index(member)]]}
        info = {"attrs": [["IFLA_INFO_KIND", "bond"], ["IFLA_INFO_DATA", data]]}
        msg = self._msg(self.index(bond), attrs=[["IFLA_LINKINFO", info]])
        self._request(msg, f"active slave {member}")


@contextlib.contextmanager
def realtime(priority: int = 10) -> Iterator[bool]:
    """SCHED_FIFO for this thread while the block runs; yields whether it was granted.

    Why: the guest has one CPU. At normal priority the traffic could not be sent while the daemon
    under test reacts to a fault, so a slow reaction would show as delayed packets instead of lost
    ones. A real-time sender keeps the 1 ms schedule like traffic from another machine would.
    Children started meanwhile (a restarted daemon) do not inherit it (SCHED_RESET_ON_FORK).
    """
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
    except OSError:
        yield False
        return
    try:
        yield True
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


@dataclass
class FlowLog:
    """What one direction of one trial sent and what arrived."""

    send_times: array  # seconds (time.monotonic), one per sequence number
    received: bytearray  # 1 where that sequence number arrived

    def flags(self) -> list[bool]:
        return [bool(b) for b in self.received[: len(self.send_times)]]


@dataclass
class TrialLog:
    up: FlowLog  # server -> gateway
    down: FlowLog  # gateway -> server
    fault_time: float
    fault_s: float  # how long the fault's own action took (a restart: until ready again)
    fault_error: str | None = None


class UdpPair:
    """A UDP socket in the server namespace and one in the gateway's, addressed to each other."""

    def __init__(
        self, server_ns: str, server_ip: str, gateway_ns: str, gateway_ip: str, port: int = 47000
    ) -> None:
        self.server = self._open(server_ns, server_ip, gateway_ip, port)
        self.gateway = self._open(gateway_ns, gateway_ip, server_ip, port)
        self._trial = 0
        self.realtime = False  # whether the last trial's sender ran at real-time priority
        self.cpu_share = 0.0  # CPU the last trial's traffic took, as a share of one core

    @staticmethod
    def _open(netns: str, local: str, remote: str, port: int) -> socket.socket:
        with in_netns(netns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((local, port))
        sock.connect((remote, port))
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        self.server.close()
        self.gateway.close()

    async def trial(
        self,
        fault: Callable[[], Awaitable[None]],
        pre_s: float,
        post_s: float,
        rate_hz: int = 1000,
        drain_s: float = 0.15,
    ) -> TrialLog:
        """`rate_hz` packets a second each way; `fault` starts `pre_s` in, traffic stops `post_s`
        after that, and stragglers get `drain_s` to arrive.

        The sender catches up on every wake-up: packets are due on a fixed schedule and each one
        records when it really left, so a late wake-up shows as a burst, never as a gap. Both
        receiving sockets are drained on the same wake-up: one task and a few syscalls per
        millisecond, which matters on a guest where every syscall is expensive.
        """
        self._trial += 1
        trial = self._trial
        count = int((pre_s + post_s) * rate_hz)
        up = FlowLog(array("d", []), bytearray(count))
        down = FlowLog(array("d", []), bytearray(count))
        fault_at: list[float] = []
        errors: list[str] = []

        def drain(sock: socket.socket, log: FlowLog) -> None:
            while True:
                try:
                    data = sock.recv(64)
                except BlockingIOError:
                    return
                except OSError:  # an ICMP error queued on the socket: nothing to record
                    continue
                if len(data) >= PAYLOAD.size:
                    tid, seq = PAYLOAD.unpack_from(data)
                    if tid == trial and seq < count:
                        log.received[seq] = 1

        async def run() -> None:
            start = time.monotonic()
            seq = 0
            while seq < count:
                now = time.monotonic()
                due = min(count, int((now - start) * rate_hz) + 1)
                while seq < due:
                    payload = PAYLOAD.pack(trial, seq)
                    for sock, log in ((self.server, up), (self.gateway, down)):
                        with contextlib.suppress(OSError):  # unreachable, no buffer: lost
                            sock.send(payload)
                        log.send_times.append(now)
                    seq += 1
                drain(self.gateway, up)
                drain(self.server, down)
                await trio.sleep_until(trio.current_time() + (start + seq / rate_hz - now))
            until = time.monotonic() + drain_s
            while time.monotonic() < until:
                drain(self.gateway, up)
                drain(self.server, down)
                await trio.sleep(0.005)

        async def inject() -> None:
            await trio.sleep(pre_s)
            fault_at.append(time.monotonic())
            try:
                await fault()
            except Exception as exc:  # reported with the trial, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}")
            fault_at.append(time.monotonic())

        cpu = time.thread_time()
        with realtime() as self.realtime:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run)
                nursery.start_soon(inject)
        self.cpu_share = (time.thread_time() - cpu) / (pre_s + post_s + drain_s)
        return TrialLog(
            up, down, fault_at[0], fault_at[1] - fault_at[0], errors[0] if errors else None
        )
