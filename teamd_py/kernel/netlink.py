"""rtnetlink sockets owned by trio, with pyroute2 as the message codec.

Why not pyroute2's IPRoute in worker threads: its 0.9 series runs an asyncio loop per socket, which
trio cannot await, and a thread per call would hide cancellation and add a hop to every switchover.
A raw netlink socket is just a datagram socket, so trio owns it directly and pyroute2 encodes and
decodes the messages, which is the part worth not writing by hand.

Two sockets:
- `NetlinkSocket` is subscribed to link notifications and also carries every *change* request. The
  kernel queues a request's ACK after the notifications it had already queued, so the reader sees
  them in the kernel's order and can stamp each with a sequence number: a notification stamped
  before an ACK describes the kernel before that change.
- dumps go through a separate, unsubscribed socket so that their replies never interleave with
  notifications.
"""

from __future__ import annotations

import errno
import itertools
import select
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio
from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    nlmsg_base,
)
from pyroute2.netlink.rtnl import RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

RCVBUF = 8 * 1024 * 1024
REQUEST_TIMEOUT = 2.0

_SO_RCVBUFFORCE = 33


class NetlinkError(Exception):
    """The kernel refused a request."""

    def __init__(self, code: int, what: str) -> None:
        self.code = code
        self.what = what
        super().__init__(f"{what}: {errno.errorcode.get(code, code)} ({_strerror(code)})")


class NetlinkTimeout(NetlinkError):
    """No ACK came back; the socket may have overflowed. The request may or may not have applied."""

    def __init__(self, what: str) -> None:
        super().__init__(errno.ETIMEDOUT, what)


def _strerror(code: int) -> str:
    try:
        import os

        return os.strerror(code)
    except ValueError:
        return "unknown error"


@dataclass(frozen=True)
class Notification:
    """A kernel message in the socket's stream: a notification, or one reply of a dump (`dump` is
    then the dump's sequence number). Both are states, and the stream keeps their causal order."""

    stamp: int
    msg: nlmsg_base
    dump: int | None = None


@dataclass(frozen=True)
class DumpDone:
    """The dump with this sequence number is complete."""

    stamp: int
    dump: int


@dataclass(frozen=True)
class Overflow:
    """The kernel dropped notifications: the receiver must re-read the state it cares about."""

    stamp: int


@dataclass(frozen=True)
class Drained:
    """After an overflow, the socket's queue was empty for the first time.

    The kernel reports ENOBUFS once and then stays silent about further drops until the queue
    has been drained, so only a re-read started after this point is sure to miss nothing.
    """

    stamp: int


Incoming = Notification | DumpDone | Overflow | Drained


def _raw_socket(groups: int, rcvbuf: int = RCVBUF) -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, rcvbuf)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((0, groups))
    return sock


def encode(msg: nlmsg_base, msg_type: int, flags: int, seq: int) -> bytes:
    msg["header"]["type"] = msg_type
    msg["header"]["flags"] = flags
    msg["header"]["sequence_number"] = seq
    msg.encode()
    return bytes(msg.data)


class NetlinkSocket:
    """The subscribed socket: `requests` are change requests, `incoming` yields notifications."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self._sock = sock
        self._marshal = MarshalRtnl()
        self._seq = itertools.count(1)
        self._stamp = itertools.count(1)
        self._pending: dict[int, trio.MemorySendChannel[tuple[int, int]]] = {}
        self._dumps: set[int] = set()
        self._send, self.incoming = trio.open_memory_channel[Incoming](10_000)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        groups: int = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
        rcvbuf: int = RCVBUF,
    ) -> AsyncIterator[NetlinkSocket]:
        raw = _raw_socket(groups, rcvbuf)
        with trio.socket.from_stdlib_socket(raw) as sock:
            self = cls(sock)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reader)
                try:
                    yield self
                finally:
                    nursery.cancel_scope.cancel()

    async def request(self, msg: nlmsg_base, msg_type: int, what: str, create: bool = False) -> int:
        """Send a change request and wait for its ACK; return the ACK's stamp."""
        seq = next(self._seq)
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE | NLM_F_EXCL if create else 0)
        send, receive = trio.open_memory_channel[tuple[int, int]](1)
        self._pending[seq] = send
        try:
            await self._sock.send(encode(msg, msg_type, flags, seq))
            with trio.move_on_after(REQUEST_TIMEOUT):
                code, stamp = await receive.receive()
                if code:
                    raise NetlinkError(code, what)
                return stamp
            raise NetlinkTimeout(what)
        finally:
            del self._pending[seq]

    async def start_dump(self, msg: nlmsg_base, msg_type: int) -> int:
        """Ask for a dump whose replies arrive in `incoming`, in order with notifications.

        A dump on a separate socket races with the notifications: an event read after it may be
        older than what it returned. On this socket the stream itself says what is newer.
        """
        seq = next(self._seq)
        self._dumps.add(seq)
        await self._sock.send(encode(msg, msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq))
        return seq

    def _stamp_next(self) -> int:
        return next(self._stamp)

    async def _reader(self) -> None:
        congested = False
        while True:
            if congested and not select.select([self._sock.fileno()], [], [], 0)[0]:
                congested = False
                await self._send.send(Drained(self._stamp_next()))
            try:
                data = await self._sock.recv(1 << 20)
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                congested = True
                await self._send.send(Overflow(self._stamp_next()))
                continue
            for msg in self._marshal.parse(data):
                stamp = self._stamp_next()
                seq = msg["header"]["sequence_number"]
                kind = msg["header"]["type"]
                if kind == NLMSG_ERROR and seq in self._pending:
                    error = msg["header"].get("error")
                    code = error.code if error is not None else 0
                    self._pending[seq].send_nowait((code, stamp))
                elif seq in self._dumps and kind in (NLMSG_DONE, NLMSG_ERROR):
                    self._dumps.discard(seq)
                    await self._send.send(DumpDone(stamp, seq))
                elif seq in self._dumps:
                    await self._send.send(Notification(stamp, msg, dump=seq))
                else:
                    await self._send.send(Notification(stamp, msg))


class DumpSocket:
    """An unsubscribed socket for dumps and single gets; replies arrive whole, in order."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self._sock = sock
        self._marshal = MarshalRtnl()
        self._seq = itertools.count(1)
        self._lock = trio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls) -> AsyncIterator[DumpSocket]:
        with trio.socket.from_stdlib_socket(_raw_socket(0)) as sock:
            yield cls(sock)

    async def dump(self, msg: nlmsg_base, msg_type: int, what: str) -> list[Any]:
        return await self._exchange(msg, msg_type, NLM_F_REQUEST | NLM_F_DUMP, what)

    async def get(self, msg: nlmsg_base, msg_type: int, what: str) -> Any:
        replies = await self._exchange(msg, msg_type, NLM_F_REQUEST | NLM_F_ACK, what)
        return replies[0] if replies else None

    async def _exchange(self, msg: nlmsg_base, msg_type: int, flags: int, what: str) -> list[Any]:
        async with self._lock:
            seq = next(self._seq)
            await self._sock.send(encode(msg, msg_type, flags, seq))
            out: list[Any] = []
            with trio.fail_after(REQUEST_TIMEOUT):
                while True:
                    data = await self._sock.recv(1 << 20)
                    for reply in self._marshal.parse(data):
                        if reply["header"]["sequence_number"] != seq:
                            continue
                        kind = reply["header"]["type"]
                        if kind == NLMSG_DONE:
                            return out
                        if kind == NLMSG_ERROR:
                            error = reply["header"].get("error")
                            if error is not None and error.code:
                                raise NetlinkError(error.code, what)
                            return out
                        out.append(reply)


def attrs(pairs: Iterable[tuple[str, Any]]) -> list[list[Any]]:
    """pyroute2's attribute list form, dropping unset values."""
    return [[k, v] for k, v in pairs if v is not None]
