"""The control socket server: the protocol of `protocol.py` on top of a `DaemonApi`.

Every client gets its own task, and every way a client can misbehave (too long a line, silence,
not reading its answers, too many connections) costs it its connection and nothing more: the
limits below bound what one client may hold, and no exception from a client or from the api
escapes a connection's task.

The socket file is the first gate (mode 0660, group `group`). SO_PEERCRED is the second: only
root and members of `group` may change anything. A peer's supplementary groups are read from
/proc/<pid>/status, so a peer that hands its connection to another process is judged as the
process that connected.
"""

from __future__ import annotations

import contextlib
import grp
import os
import socket
import stat
import struct
import traceback
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from teamd_py.control.api import ControlError, DaemonApi
from teamd_py.control.protocol import (
    PRIVILEGED,
    RECEIVE_CHUNK,
    LineReader,
    LineTooLong,
    ProtocolError,
    Request,
    encode,
    encode_event,
    error,
    ok,
    parse_request,
)

log = structlog.get_logger()

# Read at each use, so tests can lower them.
MAX_LINE = 64 * 1024
IDLE_TIMEOUT = 10.0
WRITE_TIMEOUT = 5.0
MAX_CONNECTIONS = 64
STALE_PROBE_TIMEOUT = 1.0

SOCKET_MODE = 0o660
DIRECTORY_MODE = 0o750
LISTEN_BACKLOG = 16
_UCRED = struct.Struct("3i")


class ControlSocketError(Exception):
    """The control socket cannot be set up; nothing is being served."""


@dataclass(frozen=True)
class Peer:
    """Who is on the other end, as the kernel saw it at connect time."""

    pid: int
    uid: int
    gid: int

    @classmethod
    def of(cls, sock: trio.socket.SocketType) -> Peer:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        pid, uid, gid = _UCRED.unpack(raw)
        return cls(pid, uid, gid)

    def supplementary_groups(self) -> frozenset[int]:
        """From /proc; empty when the process is gone, which then grants nothing."""
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("Groups:"):
                        return frozenset(int(g) for g in line.split()[1:])
        except (OSError, ValueError):
            pass
        return frozenset()


@dataclass(frozen=True)
class Access:
    """Who may run the commands that change something."""

    group: str | None = None
    gid: int | None = None

    @classmethod
    def for_group(cls, group: str | None) -> Access:
        if group is None:
            return cls()
        try:
            return cls(group, grp.getgrnam(group).gr_gid)
        except KeyError:
            raise ControlSocketError(f"control socket group {group!r} does not exist") from None

    def allows(self, command: str, peer: Peer) -> bool:
        if command not in PRIVILEGED or peer.uid == 0:
            return True
        if self.gid is None:
            return False
        return peer.gid == self.gid or self.gid in peer.supplementary_groups()

    def refusal(self, command: str) -> str:
        if self.group is None:
            return f"{command} needs root"
        return f"{command} needs root or group {self.group}"


class _Connection:
    """One client's stream: framed reads under the idle limit, writes under the write limit."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.reader = LineReader(stream, MAX_LINE)

    async def receive(self) -> bytes | None:
        """The next request line, None once the client is gone.

        Raises LineTooLong, or trio.TooSlowError when no complete line came in time."""
        with trio.fail_after(IDLE_TIMEOUT):
            try:
                return await self.reader.next_line()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return None

    async def send(self, data: bytes) -> bool:
        """False when the client is gone or too slow to take the line; then hang up."""
        with trio.move_on_after(WRITE_TIMEOUT) as scope:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return False
        return not scope.cancelled_caught

    async def wait_hangup(self) -> None:
        """Return once the client closes its end; what it sends meanwhile is dropped."""
        try:
            while await self.stream.receive_some(RECEIVE_CHUNK):
                pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


class _Server:
    """The api, the access rule and the connection count that all connections share."""

    def __init__(self, api: DaemonApi, access: Access) -> None:
        self.api = api
        self.access = access
        self.connections = 0

    async def handle(self, stream: trio.SocketStream) -> None:
        """One connection's task; it must not raise, or the whole server would stop."""
        if self.connections >= MAX_CONNECTIONS:
            busy = error("busy", f"too many connections (at most {MAX_CONNECTIONS}); try again")
            await _Connection(stream).send(encode(busy))
            log.warning("control_busy", limit=MAX_CONNECTIONS)
            return
        self.connections += 1
        try:
            peer = Peer.of(stream.socket)
            reason = await self._converse(_Connection(stream), peer)
            if reason is not None:
                log.info("control_dropped", reason=reason, pid=peer.pid, uid=peer.uid)
        except Exception as exc:
            _log_failure(exc, command=None)
        finally:
            self.connections -= 1

    async def _converse(self, conn: _Connection, peer: Peer) -> str | None:
        """Answer requests in order until the client leaves; returns why we hung up, if we did."""
        while True:
            try:
                line = await conn.receive()
            except LineTooLong:
                await conn.send(
                    encode(error("too_large", f"a request is at most {MAX_LINE} bytes"))
                )
                return "too_large"
            except trio.TooSlowError:
                message = f"no complete request within {IDLE_TIMEOUT:g} s"
                await conn.send(encode(error("timeout", message)))
                return "timeout"
            if line is None:
                return None
            try:
                request = parse_request(line)
            except ProtocolError as exc:
                answer = encode(error(exc.code, exc.message))
            else:
                if request.follows:
                    return await self._follow(conn)
                answer = await self._answer(request, peer)
            if not await conn.send(answer):
                return "slow_reader"

    async def _answer(self, request: Request, peer: Peer) -> bytes:
        """The encoded response line; the api's failures become error responses."""
        if not self.access.allows(request.command, peer):
            log.warning("control_forbidden", command=request.command, pid=peer.pid, uid=peer.uid)
            return encode(error("forbidden", self.access.refusal(request.command)))
        if request.command in PRIVILEGED:
            log.info(
                "control_command",
                command=request.command,
                pid=peer.pid,
                uid=peer.uid,
                **request.args,
            )
        try:
            return encode(ok(await self._execute(request)))
        except ControlError as exc:
            return encode(error(exc.code, exc.message))
        except Exception as exc:
            _log_failure(exc, command=request.command)
            message = f"internal error ({type(exc).__name__}); see the daemon's log"
            return encode(error("internal", message))

    async def _execute(self, request: Request) -> Any:
        args = request.args
        match request.command:
            case "state":
                return self.api.state(args["team"])
            case "switch":
                return await self.api.switch(args["team"], args["member"], args["force"])
            case "reload":
                return await self.api.reload()
            case "metrics":
                return self.api.metrics()
            case "events":
                return self.api.recent_events()
        raise AssertionError(f"no handler for {request.command!r}")

    async def _follow(self, conn: _Connection) -> str | None:
        """Relay events until the client hangs up or the daemon's stream ends."""
        if not await conn.send(encode(ok("following"))):
            return "slow_reader"
        reason: str | None = None
        async with trio.open_nursery() as nursery:

            async def hangup() -> None:
                await conn.wait_hangup()
                nursery.cancel_scope.cancel()

            nursery.start_soon(hangup)
            events = self.api.subscribe()
            try:
                async for event in events:
                    if not await conn.send(encode_event(event)):
                        reason = "slow_reader"
                        break
            except Exception as exc:
                _log_failure(exc, command="events")
            finally:
                await _aclose(events)
            nursery.cancel_scope.cancel()
        return reason


async def _aclose(iterator: Any) -> None:
    """Close an async generator now, so the daemon forgets this subscriber at once."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    with trio.move_on_after(1, shield=True):
        try:
            await aclose()
        except Exception as exc:
            _log_failure(exc, command="events")


def _log_failure(exc: Exception, command: str | None) -> None:
    log.error(
        "control_error",
        command=command,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )


def _prepare_directory(path: str, access: Access) -> None:
    """Create the socket's directory if missing, reachable by root and the control group only."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(parent):
        return
    os.makedirs(parent, mode=DIRECTORY_MODE, exist_ok=True)
    os.chmod(parent, DIRECTORY_MODE)
    if access.gid is not None:
        os.chown(parent, -1, access.gid)


async def _clear_stale(path: str) -> None:
    """Remove a socket file left by a daemon that died; refuse to take over a live one."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ControlSocketError(f"{path} exists and is not a socket; not touching it")
    if await _answers(path):
        raise ControlSocketError(
            f"another daemon is answering on {path}; stop it first or choose another socket"
        )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


async def _answers(path: str) -> bool:
    with trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        with trio.move_on_after(STALE_PROBE_TIMEOUT):
            try:
                await probe.connect(path)
            except (ConnectionRefusedError, FileNotFoundError):
                return False
            except BlockingIOError:
                return True  # a full backlog: alive, just busy
            except OSError as exc:
                raise ControlSocketError(f"cannot tell whether {path} is in use: {exc}") from None
            return True
        return True


async def _bind(path: str, access: Access) -> trio.socket.SocketType:
    """Bind and set the file's mode and group before anyone is let in by listen()."""
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await sock.bind(path)
    except OSError as exc:
        sock.close()
        raise ControlSocketError(f"cannot bind {path}: {exc}") from None
    try:
        os.chmod(path, SOCKET_MODE)
        if access.gid is not None:
            os.chown(path, -1, access.gid)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        os.unlink(path)
        raise ControlSocketError(f"cannot listen on {path}: {exc}") from None
    return sock


def _remove_if_same(path: str, identity: tuple[int, int]) -> None:
    """Remove our socket file, not one a successor may have put there since."""
    try:
        st = os.lstat(path)
        if (st.st_dev, st.st_ino) == identity:
            os.unlink(path)
    except OSError:
        pass


async def serve_control(
    path: str,
    api: DaemonApi,
    *,
    group: str | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the control protocol on `path` until cancelled; the socket file goes with it.

    `group` (a group name) owns the socket and may run `switch` and `reload`; without it only
    root may. Raises ControlSocketError before `task_status.started()` when the socket cannot
    be set up: unknown group, a non-socket file in the way, another daemon answering there.
    """
    access = Access.for_group(group)
    _prepare_directory(path, access)
    await _clear_stale(path)
    sock = await _bind(path, access)
    st = os.lstat(path)
    identity = (st.st_dev, st.st_ino)
    try:
        log.info("control_listening", path=path, group=group)
        task_status.started()
        await trio.serve_listeners(_Server(api, access).handle, [trio.SocketListener(sock)])
    finally:
        _remove_if_same(path, identity)
        sock.close()
