"""Tests for the control socket: the protocol end to end over real sockets, the limits that keep
one client from hurting the others, authorization by peer credentials, the socket file's life,
and the `teamd-py` subcommands against a live server."""

from __future__ import annotations

import copy
import grp
import json
import math
import os
import shutil
import socket
import stat
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from structlog.testing import capture_logs

from teamd_py.cli import main
from teamd_py.control import server
from teamd_py.control.api import ControlError
from teamd_py.control.client import follow, request
from teamd_py.control.protocol import LineReader, ProtocolError, Request, parse_request
from teamd_py.control.render import render_state
from teamd_py.control.server import ControlSocketError, serve_control

IO_LIMIT = 5  # seconds: no test here should come near it

NOBODY = 65534
OTHER_GID = 12345  # a group nobody in the tests belongs to

METRICS = (
    "# HELP teamd_py_switches_total Switches of the active member.\n"
    "# TYPE teamd_py_switches_total counter\n"
    'teamd_py_switches_total{team="team1"} 3\n'
)


def _member(state: str, role: str, priority: int, health: str = "up") -> dict[str, Any]:
    return {
        "state": state,
        "role": role,
        "priority": priority,
        "carrier": health != "down",
        "health": health,
        "path": None,
        "targets": [],
    }


def _team(members: dict[str, dict[str, Any]], active: str) -> dict[str, Any]:
    return {
        "state": "up",
        "mac": "02:00:5e:00:00:01",
        "active": active,
        "override": None,
        "switches": 0,
        "last_switch": None,
        "members": members,
    }


class FakeApi:
    """A daemon in memory: two teams, a few past events, and events to publish to followers."""

    def __init__(self) -> None:
        self.teams = {
            "team1": _team(
                {
                    "eth0": _member("active", "primary", 200),
                    "eth1": _member("standby", "secondary", 100),
                    "eth2": _member("failed", "standby", 0, health="down"),
                },
                active="eth0",
            ),
            "team2": _team({"eth3": _member("active", "primary", 200)}, active="eth3"),
        }
        self.events = [
            {"event": "team_up", "timestamp": "2026-12-01T12:00:00Z", "team": "team1"},
            {"event": "path_up", "timestamp": "2026-12-01T12:00:01Z", "member": "eth0"},
        ]
        self.config_problems: list[str] = []
        self.state_error: Exception | None = None
        self.script: list[dict[str, Any]] | None = None  # followers get these, then the end
        self.firehose = False  # followers get big events as fast as they take them
        self.subscribed = trio.Event()
        self.unsubscribed = trio.Event()
        self._followers: list[trio.MemorySendChannel[dict[str, Any]]] = []

    def _team(self, team: str) -> dict[str, Any]:
        if team not in self.teams:
            raise ControlError("unknown_team", f"no team {team!r}")
        return self.teams[team]

    def state(self, team: str | None = None) -> dict[str, Any]:
        if self.state_error is not None:
            raise self.state_error
        if team is None:
            return {"teams": copy.deepcopy(self.teams)}
        return {"teams": {team: copy.deepcopy(self._team(team))}}

    async def switch(self, team: str, member: str | None, force: bool) -> dict[str, Any]:
        await trio.sleep(0)
        entry = self._team(team)
        members = entry["members"]
        if member is None:
            entry["override"] = None
            entry["active"] = next(m for m, v in members.items() if v["health"] == "up")
        else:
            if member not in members:
                raise ControlError("unknown_member", f"{team} has no member {member!r}")
            if members[member]["health"] != "up" and not force:
                raise ControlError("unhealthy", f"{member} is not healthy; force to pin it anyway")
            entry["override"] = {"member": member, "forced": force}
            entry["active"] = member
        return {"team": team, "active": entry["active"], "override": entry["override"]}

    async def reload(self) -> dict[str, Any]:
        await trio.sleep(0)
        if self.config_problems:
            raise ControlError("invalid_config", "\n".join(self.config_problems))
        return {"changed": ["team1"]}

    def metrics(self) -> str:
        return METRICS

    def recent_events(self) -> list[dict[str, Any]]:
        return list(self.events)

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        self.subscribed.set()
        send, receive = trio.open_memory_channel[dict[str, Any]](math.inf)
        self._followers.append(send)
        try:
            if self.firehose:
                for n in range(10_000):
                    yield {"event": "big", "n": n, "blob": "x" * 65536}
                    await trio.sleep(0)
            elif self.script is not None:
                for event in self.script:
                    yield event
            else:
                async for event in receive:
                    yield event
        finally:
            self._followers.remove(send)
            self.unsubscribed.set()

    def publish(self, event: dict[str, Any]) -> None:
        for follower in self._followers:
            follower.send_nowait(event)

    def stop(self) -> None:
        for follower in self._followers:
            follower.close()


class Raw:
    """A client that speaks the protocol by hand, to send what a real client never would."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.reader = LineReader(stream, 1 << 26)

    @classmethod
    async def connect(cls, path: str) -> Raw:
        return cls(await trio.open_unix_socket(path))

    async def send(self, message: bytes | dict[str, Any]) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
        await self.stream.send_all(data)

    async def receive(self) -> dict[str, Any] | None:
        line = await self.reader.next_line()
        return None if line is None else json.loads(line)

    async def ask(self, message: bytes | dict[str, Any]) -> dict[str, Any]:
        await self.send(message)
        reply = await self.receive()
        assert reply is not None, "the server hung up"
        return reply

    async def aclose(self) -> None:
        await self.stream.aclose()


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "control.sock")


@pytest.fixture
async def served(nursery: trio.Nursery, path: str, api: FakeApi) -> str:
    await nursery.start(partial(serve_control, path, api))
    return path


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


# The protocol, without sockets


def test_a_request_gets_its_defaults() -> None:
    assert parse_request(b'{"command": "switch", "team": "team1"}') == Request(
        "switch", {"team": "team1", "member": None, "force": False}
    )
    assert parse_request(b'{"command": "events", "follow": null}') == Request(
        "events", {"follow": False}
    )
    assert parse_request(b'{"command": "state"}').args == {"team": None}


BAD_LINES = [
    (b"not json", "bad_json"),
    (b"\xff\xfe{}", "bad_json"),
    (b"", "bad_json"),
    (b"[1, 2]", "bad_request"),
    (b'"state"', "bad_request"),
    (b"{}", "bad_request"),
    (b'{"command": 1}', "bad_request"),
    (b'{"command": "nope"}', "unknown_command"),
    (b'{"command": "state", "tema": "team1"}', "bad_request"),
    (b'{"command": "state", "team": 1}', "bad_request"),
    (b'{"command": "switch"}', "bad_request"),
    (b'{"command": "switch", "team": "team1", "force": 1}', "bad_request"),
    (b'{"command": "switch", "team": "team1", "member": true}', "bad_request"),
    (b'{"command": "events", "follow": "yes"}', "bad_request"),
    (b'{"command": "metrics", "team": "team1"}', "bad_request"),
]


@pytest.mark.parametrize(("line", "code"), BAD_LINES)
def test_bad_requests_are_refused_with_their_code(line: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_request(line)
    assert caught.value.code == code


def test_refusals_say_what_is_wrong() -> None:
    def message(line: bytes) -> str:
        with pytest.raises(ProtocolError) as caught:
            parse_request(line)
        return caught.value.message

    assert message(b'{"command": "state", "tema": "x"}') == "state: unknown field 'tema'"
    assert message(b'{"command": "switch"}') == "switch: 'team' is required"
    assert message(b'{"command": "switch", "team": "t", "force": 1}') == (
        "switch: 'force' must be true or false"
    )
    assert message(b'{"command": "nope"}') == (
        "unknown command 'nope' (known: state, switch, reload, metrics, events)"
    )


# Every command through a real socket


async def test_state_round_trips(served: str, api: FakeApi) -> None:
    with trio.fail_after(IO_LIMIT):
        assert await request(served, {"command": "state"}) == api.state()
        assert await request(served, {"command": "state", "team": "team2"}) == api.state("team2")


async def test_switch_pins_and_releases(served: str, api: FakeApi) -> None:
    with trio.fail_after(IO_LIMIT):
        pinned = await request(served, {"command": "switch", "team": "team1", "member": "eth1"})
        assert pinned == {
            "team": "team1",
            "active": "eth1",
            "override": {"member": "eth1", "forced": False},
        }
        assert api.teams["team1"]["override"] == {"member": "eth1", "forced": False}
        released = await request(served, {"command": "switch", "team": "team1", "member": None})
        assert released == {"team": "team1", "active": "eth0", "override": None}


async def test_reload_metrics_and_events_round_trip(served: str, api: FakeApi) -> None:
    with trio.fail_after(IO_LIMIT):
        assert await request(served, {"command": "reload"}) == {"changed": ["team1"]}
        assert await request(served, {"command": "metrics"}) == METRICS
        assert await request(served, {"command": "events"}) == api.events


async def test_following_events_until_the_daemon_stops(served: str, api: FakeApi) -> None:
    published = [{"event": "switchover", "n": 1}, {"event": "path_down", "n": 2}]

    async def publish() -> None:
        await api.subscribed.wait()
        for event in published:
            api.publish(event)
        api.stop()

    with trio.fail_after(IO_LIMIT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish)
            async with aclosing(follow(served, {"command": "events", "follow": True})) as events:
                received = [event async for event in events]
    assert received == published


async def test_a_follower_that_hangs_up_is_forgotten(served: str, api: FakeApi) -> None:
    with trio.fail_after(IO_LIMIT):
        client = await Raw.connect(served)
        assert await client.ask({"command": "events", "follow": True}) == {
            "ok": True,
            "result": "following",
        }
        await api.subscribed.wait()
        await client.aclose()
        await api.unsubscribed.wait()


async def test_several_requests_on_one_connection_are_answered_in_order(
    served: str, api: FakeApi
) -> None:
    with trio.fail_after(IO_LIMIT):
        client = await Raw.connect(served)
        await client.send(
            b'{"command": "metrics"}\n{"command": "state", "team": "team1"}\n{"command": "nope"}\n'
        )
        assert await client.receive() == {"ok": True, "result": METRICS}
        assert await client.receive() == {"ok": True, "result": api.state("team1")}
        reply = await client.receive()
        assert reply is not None
        assert reply["error"]["code"] == "unknown_command"


async def test_a_last_line_without_newline_is_answered(served: str) -> None:
    with trio.fail_after(IO_LIMIT):
        client = await Raw.connect(served)
        await client.send(b'{"command": "metrics"}')
        await client.stream.send_eof()
        assert await client.receive() == {"ok": True, "result": METRICS}
        assert await client.receive() is None


# Bad clients


@pytest.mark.parametrize(("line", "code"), BAD_LINES)
async def test_a_bad_request_is_answered_and_the_connection_kept(
    served: str, line: bytes, code: str
) -> None:
    with trio.fail_after(IO_LIMIT):
        client = await Raw.connect(served)
        reply = await client.ask(line + b"\n")
        assert reply["ok"] is False
        assert reply["error"]["code"] == code
        assert await client.ask({"command": "metrics"}) == {"ok": True, "result": METRICS}


async def test_a_line_over_64_kib_is_too_large_and_closes(served: str) -> None:
    with trio.fail_after(IO_LIMIT):
        client = await Raw.connect(served)
        reply = await client.ask(b"x" * (64 * 1024 + 1) + b"\n")
        assert reply == _error("too_large", "a request is at most 65536 bytes")
        assert await client.receive() is None


async def test_a_line_of_exactly_64_kib_is_fine(served: str) -> None:
    with trio.fail_after(IO_LIMIT):
        client = await Raw.connect(served)
        line = b'{"command": "metrics"}'.ljust(64 * 1024) + b"\n"
        assert await client.ask(line) == {"ok": True, "result": METRICS}
        assert await client.ask({"command": "metrics"}) == {"ok": True, "result": METRICS}


async def test_a_silent_client_times_out_without_holding_up_others(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "IDLE_TIMEOUT", 0.2)
    with trio.fail_after(IO_LIMIT):
        start = trio.current_time()
        silent = await Raw.connect(served)
        trickling = await Raw.connect(served)
        await trickling.send(b'{"command": ')
        assert await request(served, {"command": "metrics"}) == METRICS
        for client in (silent, trickling):
            reply = await client.receive()
            assert reply == _error("timeout", "no complete request within 0.2 s")
            assert await client.receive() is None
        assert trio.current_time() - start >= 0.2


async def test_a_client_that_does_not_read_is_dropped(
    served: str, api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "WRITE_TIMEOUT", 0.3)
    api.firehose = True
    with trio.fail_after(IO_LIMIT), capture_logs() as logs:
        slow = await Raw.connect(served)
        await slow.send({"command": "events", "follow": True})
        await api.subscribed.wait()
        assert await request(served, {"command": "state"}) == api.state()
        await api.unsubscribed.wait()
        assert await request(served, {"command": "metrics"}) == METRICS
        # What was sent before the server gave up is still there to read, then the end.
        assert await slow.receive() == {"ok": True, "result": "following"}
        total = 0
        while data := await slow.stream.receive_some(65536):
            total += len(data)
    assert total < 10_000 * 65536
    drops = [entry for entry in logs if entry["event"] == "control_dropped"]
    assert [entry["reason"] for entry in drops] == ["slow_reader"]


async def test_ten_clients_at_once(served: str, api: FakeApi) -> None:
    answers: dict[int, list[dict[str, Any]]] = {}
    with trio.fail_after(IO_LIMIT):
        clients = [await Raw.connect(served) for _ in range(10)]

        async def converse(i: int, client: Raw) -> None:
            team = f"team{1 + i % 2}"
            answers[i] = [
                await client.ask({"command": "state", "team": team}),
                await client.ask({"command": "metrics"}),
            ]

        async with trio.open_nursery() as nursery:
            for i, client in reversed(list(enumerate(clients))):
                nursery.start_soon(converse, i, client)
    for i in range(10):
        assert answers[i] == [
            {"ok": True, "result": api.state(f"team{1 + i % 2}")},
            {"ok": True, "result": METRICS},
        ]


async def _ask_when_there_is_room(path: str) -> dict[str, Any]:
    while True:
        client = await Raw.connect(path)
        try:
            reply = await client.ask({"command": "metrics"})
        except (trio.BrokenResourceError, AssertionError):
            reply = {"ok": False}
        await client.aclose()
        if reply["ok"]:
            return reply
        await trio.sleep(0.01)


async def test_connections_over_the_cap_are_told_busy(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 3)
    with trio.fail_after(IO_LIMIT):
        held = [await Raw.connect(served) for _ in range(3)]
        for client in held:
            assert (await client.ask({"command": "metrics"}))["ok"]
        extra = await Raw.connect(served)
        reply = await extra.receive()
        assert reply == _error("busy", "too many connections (at most 3); try again")
        assert await extra.receive() is None
        assert (await held[2].ask({"command": "metrics"}))["ok"]
        await held[0].aclose()
        assert await _ask_when_there_is_room(served) == {"ok": True, "result": METRICS}


# The daemon's errors


async def test_the_daemons_errors_pass_through_with_their_code(served: str, api: FakeApi) -> None:
    api.config_problems = ["teams.toml: team[0].name: missing", "teams.toml: team[1]: bad"]
    with trio.fail_after(IO_LIMIT):
        client = await Raw.connect(served)
        assert await client.ask({"command": "state", "team": "team9"}) == _error(
            "unknown_team", "no team 'team9'"
        )
        switch = {"command": "switch", "team": "team1"}
        assert await client.ask({**switch, "member": "eth9"}) == _error(
            "unknown_member", "team1 has no member 'eth9'"
        )
        assert await client.ask({**switch, "member": "eth2"}) == _error(
            "unhealthy", "eth2 is not healthy; force to pin it anyway"
        )
        assert (await client.ask({**switch, "member": "eth2", "force": True}))["ok"]
        assert await client.ask({"command": "reload"}) == _error(
            "invalid_config", "teams.toml: team[0].name: missing\nteams.toml: team[1]: bad"
        )
        with pytest.raises(ControlError) as caught:
            await request(served, {"command": "state", "team": "team9"})
        assert (caught.value.code, caught.value.message) == ("unknown_team", "no team 'team9'")


async def test_an_unexpected_failure_is_internal_and_logged(served: str, api: FakeApi) -> None:
    api.state_error = RuntimeError("boom")
    with trio.fail_after(IO_LIMIT), capture_logs() as logs:
        client = await Raw.connect(served)
        assert await client.ask({"command": "state"}) == _error(
            "internal", "internal error (RuntimeError); see the daemon's log"
        )
        assert await client.ask({"command": "metrics"}) == {"ok": True, "result": METRICS}
        api.state_error = None
        api.teams["team1"]["mac"] = object()
        reply = await client.ask({"command": "state"})
        assert reply["error"]["code"] == "internal"
        assert await request(served, {"command": "metrics"}) == METRICS
    failures = [entry for entry in logs if entry["event"] == "control_error"]
    assert [entry["command"] for entry in failures] == ["state", "state"]
    assert failures[0]["error"] == "RuntimeError: boom"


# The socket file


async def test_the_socket_and_its_new_directory_are_private(tmp_path: Path, api: FakeApi) -> None:
    path = tmp_path / "run" / "teamd-py" / "control.sock"
    with trio.fail_after(IO_LIMIT):
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(serve_control, str(path), api))
            assert stat.S_ISSOCK(path.lstat().st_mode)
            assert stat.S_IMODE(path.lstat().st_mode) == 0o660
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750
            assert await request(str(path), {"command": "metrics"}) == METRICS
            nursery.cancel_scope.cancel()
    assert not path.exists()


async def test_an_unknown_group_is_refused_before_binding(path: str, api: FakeApi) -> None:
    with trio.fail_after(IO_LIMIT), pytest.raises(ControlSocketError, match="no-such-group"):
        await serve_control(path, api, group="no-such-group")
    assert not os.path.exists(path)


async def test_a_stale_socket_file_is_replaced(
    path: str, api: FakeApi, nursery: trio.Nursery
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(path)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    with trio.fail_after(IO_LIMIT):
        await nursery.start(partial(serve_control, path, api))
        assert await request(path, {"command": "metrics"}) == METRICS


async def test_a_live_socket_is_not_taken_over(served: str, nursery: trio.Nursery) -> None:
    with trio.fail_after(IO_LIMIT):
        with pytest.raises(ControlSocketError, match="another daemon is answering"):
            await nursery.start(partial(serve_control, served, FakeApi()))
        assert await request(served, {"command": "metrics"}) == METRICS


async def test_a_file_that_is_not_a_socket_is_left_alone(path: str, api: FakeApi) -> None:
    Path(path).write_text("precious")
    with trio.fail_after(IO_LIMIT), pytest.raises(ControlSocketError, match="not a socket"):
        await serve_control(path, api)
    assert Path(path).read_text() == "precious"


async def test_an_absent_daemon_is_unreachable(path: str) -> None:
    with trio.fail_after(IO_LIMIT), pytest.raises(ControlError) as caught:
        await request(path, {"command": "state"})
    assert caught.value.code == "unreachable"
    assert caught.value.message == (
        f"cannot reach the daemon at {path}: No such file or directory (is teamd-py running?)"
    )


# Authorization by peer credentials: a child process that drops to another uid asks

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")

CHILD = """
import json, os, socket, sys

path, uid, gid, groups, requests = sys.argv[1:]
os.setgroups(json.loads(groups))
os.setgid(int(gid))
os.setuid(int(uid))
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
    sock.settimeout(5)
    sock.connect(path)
    stream = sock.makefile("rwb")
    replies = []
    for request in json.loads(requests):
        stream.write(json.dumps(request).encode() + b"\\n")
        stream.flush()
        replies.append(json.loads(stream.readline()))
print(json.dumps(replies))
"""


async def as_nobody(
    path: Path, requests: list[dict[str, Any]], gid: int = NOBODY, groups: tuple[int, ...] = ()
) -> list[dict[str, Any]]:
    """The replies to `requests`, sent on one connection by uid 65534 with these groups."""
    argv = [sys.executable, "-I", "-c", CHILD, str(path), str(NOBODY), str(gid)]
    argv += [json.dumps(list(groups)), json.dumps(requests)]
    done = await trio.run_process(argv, capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory uid 65534 can reach: pytest's own temporary directories are root's only."""
    directory = Path(tempfile.mkdtemp(prefix="teamd-py-control-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def nobody_group() -> str:
    try:
        return grp.getgrgid(NOBODY).gr_name
    except KeyError:
        pytest.fail(f"no group with gid {NOBODY}: the authorization tests need one")


SWITCH = {"command": "switch", "team": "team1", "member": "eth1"}
RELOAD = {"command": "reload"}
STATE = {"command": "state", "team": "team2"}


@needs_root
async def test_without_a_group_only_root_may_change_things(
    public_dir: Path, api: FakeApi, nursery: trio.Nursery
) -> None:
    path = public_dir / "control.sock"
    with trio.fail_after(IO_LIMIT):
        await nursery.start(partial(serve_control, str(path), api))
        path.chmod(0o666)  # past the first gate, the file mode, to meet the second
        replies = await as_nobody(path, [SWITCH, RELOAD, STATE])
    assert replies == [
        _error("forbidden", "switch needs root"),
        _error("forbidden", "reload needs root"),
        {"ok": True, "result": api.state("team2")},
    ]
    assert api.teams["team1"]["override"] is None


@needs_root
async def test_the_control_group_may_change_things(
    public_dir: Path, api: FakeApi, nursery: trio.Nursery, nobody_group: str
) -> None:
    path = public_dir / "control.sock"
    with trio.fail_after(IO_LIMIT):
        await nursery.start(partial(serve_control, str(path), api, group=nobody_group))
        assert path.lstat().st_gid == NOBODY
        assert stat.S_IMODE(path.lstat().st_mode) == 0o660
        replies = await as_nobody(path, [SWITCH, RELOAD])
    assert [reply["ok"] for reply in replies] == [True, True]
    assert api.teams["team1"]["override"] == {"member": "eth1", "forced": False}


@needs_root
async def test_a_supplementary_group_counts(
    public_dir: Path, api: FakeApi, nursery: trio.Nursery, nobody_group: str
) -> None:
    path = public_dir / "control.sock"
    with trio.fail_after(IO_LIMIT):
        await nursery.start(partial(serve_control, str(path), api, group=nobody_group))
        replies = await as_nobody(path, [SWITCH], gid=OTHER_GID, groups=(NOBODY,))
    assert replies[0]["ok"] is True


@needs_root
async def test_outside_the_control_group_switch_is_forbidden(
    public_dir: Path, api: FakeApi, nursery: trio.Nursery, nobody_group: str
) -> None:
    path = public_dir / "control.sock"
    with trio.fail_after(IO_LIMIT):
        await nursery.start(partial(serve_control, str(path), api, group=nobody_group))
        path.chmod(0o666)
        replies = await as_nobody(path, [SWITCH, STATE], gid=OTHER_GID)
    assert replies == [
        _error("forbidden", f"switch needs root or group {nobody_group}"),
        {"ok": True, "result": api.state("team2")},
    ]


@needs_root
async def test_a_new_directory_belongs_to_the_control_group(
    public_dir: Path, api: FakeApi, nursery: trio.Nursery, nobody_group: str
) -> None:
    path = public_dir / "run" / "control.sock"
    with trio.fail_after(IO_LIMIT):
        await nursery.start(partial(serve_control, str(path), api, group=nobody_group))
        assert path.parent.stat().st_gid == NOBODY
        replies = await as_nobody(path, [SWITCH])
    assert replies[0]["ok"] is True


# The command line, against a server running in a thread of its own


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[str, FakeApi]]:
    """A served FakeApi in its own thread and trio run, since each CLI call does a trio.run."""
    path = str(tmp_path / "control.sock")
    api = FakeApi()
    ready = threading.Event()
    scope = trio.CancelScope()
    tokens: list[trio.lowlevel.TrioToken] = []

    async def serve() -> None:
        tokens.append(trio.lowlevel.current_trio_token())
        with scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(partial(serve_control, path, api))
                ready.set()

    # Logs would otherwise land in the output the tests compare.
    with capture_logs():
        thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
        thread.start()
        try:
            assert ready.wait(IO_LIMIT), "the control server did not start"
            yield path, api
        finally:
            if thread.is_alive():
                trio.from_thread.run_sync(scope.cancel, trio_token=tokens[0])
            thread.join(IO_LIMIT)


def test_cli_state(daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    path, api = daemon
    assert main(["state", "--socket", path]) == 0
    out, err = capsys.readouterr()
    assert out == render_state(api.state()) + "\n"
    assert out.startswith("team1: up, active eth0, MAC 02:00:5e:00:00:01\n")
    assert err == ""


def test_cli_state_json(daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    path, api = daemon
    assert main(["state", "team2", "--socket", path, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == api.state("team2")
    assert err == ""


def test_cli_state_of_an_unknown_team(
    daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = daemon
    assert main(["state", "team9", "--socket", path]) == 1
    assert capsys.readouterr() == ("", "teamd-py state: no team 'team9'\n")


def test_cli_switch_and_back(
    daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]
) -> None:
    path, api = daemon
    assert main(["switch", "team1", "eth1", "--socket", path]) == 0
    assert capsys.readouterr().out == (
        "team1: eth1 is active (pinned; 'teamd-py switch team1 --auto' to release)\n"
    )
    assert main(["switch", "team1", "eth2", "--socket", path]) == 1
    assert capsys.readouterr() == (
        "",
        "teamd-py switch: eth2 is not healthy; force to pin it anyway\n",
    )
    assert main(["switch", "team1", "eth2", "--force", "--socket", path]) == 0
    assert capsys.readouterr().out == (
        "team1: eth2 is active (pinned, forced; 'teamd-py switch team1 --auto' to release)\n"
    )
    assert main(["switch", "team1", "--auto", "--socket", path]) == 0
    assert capsys.readouterr().out == "team1: eth0 is active (automatic choice)\n"
    assert api.teams["team1"]["override"] is None


@pytest.mark.parametrize(
    "argv",
    [
        ["switch", "team1"],
        ["switch", "team1", "eth1", "--auto"],
        ["switch", "team1", "--auto", "--force"],
    ],
)
def test_cli_switch_usage_errors(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--socket", str(tmp_path / "none.sock")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("teamd-py switch: ")


def test_cli_events(daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    path, api = daemon
    assert main(["events", "--socket", path]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [json.dumps(event, sort_keys=True) for event in api.events]
    assert err == ""


def test_cli_events_follow_until_the_daemon_stops(
    daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]
) -> None:
    path, api = daemon
    api.script = [{"event": "switchover", "to_member": "eth1"}, {"event": "team_degraded"}]
    assert main(["events", "--follow", "--socket", path]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line) for line in out.splitlines()] == api.script
    assert err == f"teamd-py events: the daemon at {path} closed the connection (stopped?)\n"


def test_cli_reload(daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    path, api = daemon
    assert main(["reload", "--socket", path]) == 0
    assert capsys.readouterr() == ("reloaded: team1 changed\n", "")
    api.config_problems = ["teams.toml: team[0].name: missing", "teams.toml: team[1]: bad"]
    assert main(["reload", "--socket", path]) == 1
    assert capsys.readouterr() == (
        "",
        "teamd-py reload: teams.toml: team[0].name: missing\n"
        "teamd-py reload: teams.toml: team[1]: bad\n",
    )


def test_cli_metrics(daemon: tuple[str, FakeApi], capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = daemon
    assert main(["metrics", "--socket", path]) == 0
    assert capsys.readouterr() == (METRICS, "")


def test_cli_without_a_daemon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "control.sock"
    assert main(["state", "--socket", str(path)]) == 1
    assert capsys.readouterr() == (
        "",
        f"teamd-py state: cannot reach the daemon at {path}: No such file or directory "
        "(is teamd-py running?)\n",
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))
    assert main(["metrics", "--socket", str(path)]) == 1
    assert capsys.readouterr() == (
        "",
        f"teamd-py metrics: cannot reach the daemon at {path}: Connection refused "
        "(is teamd-py running?)\n",
    )
