"""systemd notifications, received on a real datagram socket standing in for the service manager."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio

from teamd_py.config import Config, parse_config
from teamd_py.control.api import ControlError
from teamd_py.daemon import notify, service
from teamd_py.daemon.notify import Notifier
from teamd_py.engine.aft import AftEngine, MemberPolicy, TeamPolicy
from teamd_py.engine.events import MemberAbsent, MemberPresent

Message = dict[str, str]


class Manager:
    """The service manager's end of NOTIFY_SOCKET: one datagram is one message."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)

    async def receive(self, timeout: float = 1.0) -> Message:
        with trio.fail_after(timeout):
            await trio.lowlevel.wait_readable(self.sock)
        return parse(self.sock.recv(4096))

    async def receive_with(self, key: str, timeout: float = 2.0) -> Message:
        """The next message that assigns `key`, passing over others (watchdog pings)."""
        with trio.fail_after(timeout):
            while True:
                message = await self.receive(timeout=timeout)
                if key in message:
                    return message

    def pending(self) -> list[Message]:
        messages = []
        while True:
            try:
                messages.append(parse(self.sock.recv(4096)))
            except BlockingIOError:
                return messages


def parse(datagram: bytes) -> Message:
    pairs = [line.split("=", 1) for line in datagram.decode().split("\n")]
    assert all(len(pair) == 2 for pair in pairs), datagram
    return dict(pairs)


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Manager]:
    address = str(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    fake = Manager(address)
    yield fake
    fake.sock.close()


@pytest.fixture
def notifier(manager: Manager) -> Iterator[Notifier]:
    with Notifier() as n:
        yield n


def engine(*names: str) -> AftEngine:
    members = tuple(MemberPolicy(name, 100 * (len(names) - i)) for i, name in enumerate(names))
    return AftEngine(TeamPolicy(members))


def carrier(e: AftEngine, **up: bool) -> AftEngine:
    e.observe(*(MemberPresent(name, has) for name, has in up.items()), now=0.0)
    return e


# -- status line --------------------------------------------------------------------------------


def test_status_of_a_healthy_team() -> None:
    e = carrier(engine("eth0", "eth1"), eth0=True, eth1=True)
    assert notify.team_status("team1", e) == "team1: active eth0, 2/2 members healthy"


def test_status_after_a_failover() -> None:
    e = carrier(engine("eth0", "eth1"), eth0=True, eth1=True)
    carrier(e, eth0=False)
    assert notify.team_status("team1", e) == "team1: active eth1, 1/2 members healthy"


def test_status_of_a_team_on_an_unproven_path() -> None:
    members = (MemberPolicy("eth0", 200), MemberPolicy("eth1", 100))
    e = carrier(AftEngine(TeamPolicy(members, probing=True)), eth0=True, eth1=True)
    assert notify.team_status("team1", e) == "team1: active eth0 (degraded), 0/2 members healthy"


def test_status_of_a_team_with_no_member() -> None:
    assert notify.team_status("team1", engine("eth0", "eth1")) == "team1: DOWN"
    e = carrier(engine("eth0", "eth1"), eth0=True)
    e.observe(MemberAbsent("eth0"), now=1.0)
    assert notify.team_status("team1", e) == "team1: DOWN"


def test_status_line_joins_the_teams() -> None:
    teams = [("team1", carrier(engine("eth0", "eth1"), eth0=True)), ("team2", engine("eth2"))]
    assert notify.status_line(teams) == "team1: active eth0, 1/2 members healthy; team2: DOWN"


# -- messages -----------------------------------------------------------------------------------


async def test_ready_carries_the_status(manager: Manager, notifier: Notifier) -> None:
    notifier.ready("team1: active eth0, 2/2 members healthy")
    assert await manager.receive() == {
        "READY": "1",
        "STATUS": "team1: active eth0, 2/2 members healthy",
    }


async def test_status_is_sent_only_when_it_changes(manager: Manager, notifier: Notifier) -> None:
    notifier.ready("team1: active eth0, 2/2 members healthy")
    assert notifier.status("team1: active eth0, 2/2 members healthy") is False
    assert notifier.status("team1: active eth1, 1/2 members healthy") is True
    assert notifier.status("team1: active eth1, 1/2 members healthy") is False
    assert notifier.status("team1: DOWN") is True
    assert [m.get("STATUS") for m in manager.pending()] == [
        "team1: active eth0, 2/2 members healthy",
        "team1: active eth1, 1/2 members healthy",
        "team1: DOWN",
    ]


async def test_status_stays_one_line(manager: Manager, notifier: Notifier) -> None:
    notifier.status("one\ntwo")
    assert await manager.receive() == {"STATUS": "one two"}


async def test_keep_status_follows_the_summary(manager: Manager, notifier: Notifier) -> None:
    summary = ["a"]
    notifier.ready(summary[0])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(notify.keep_status, notifier, lambda: summary[0], 0.01)
        await manager.receive()
        summary[0] = "b"
        assert await manager.receive() == {"STATUS": "b"}
        await trio.sleep(0.1)
        assert manager.pending() == []
        nursery.cancel_scope.cancel()


async def test_stopping(manager: Manager, notifier: Notifier) -> None:
    notifier.stopping()
    assert await manager.receive() == {"STOPPING": "1"}


async def test_reloading_carries_the_monotonic_clock(manager: Manager, notifier: Notifier) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    notifier.reloading()
    message = await manager.receive()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert message.keys() == {"RELOADING", "MONOTONIC_USEC"}
    assert message["RELOADING"] == "1"
    assert before <= int(message["MONOTONIC_USEC"]) <= after


async def test_reloaded_is_ready_again(manager: Manager, notifier: Notifier) -> None:
    notifier.ready("team1: active eth0, 2/2 members healthy")
    notifier.reloading()
    notifier.reloaded("team2: DOWN")
    messages = manager.pending()
    assert messages[-1] == {"READY": "1", "STATUS": "team2: DOWN"}
    assert notifier.status("team2: DOWN") is False


async def test_abstract_socket_address(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"teamd-py-test-{os.getpid()}"
    monkeypatch.setenv("NOTIFY_SOCKET", f"@{name}")
    fake = Manager(f"\0{name}")
    try:
        with Notifier() as n:
            n.stopping()
        assert await fake.receive() == {"STOPPING": "1"}
    finally:
        fake.sock.close()


# -- watchdog -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "10000000"}, 5.0),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1234"}, 5.0),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "4321"}, None),
        ({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "x"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_PID": "1234"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], interval: float | None) -> None:
    assert notify.watchdog_interval(env, pid=1234) == interval


async def count_pings(manager: Manager, wanted: int, within: float) -> int:
    pings = 0
    with trio.move_on_after(within):
        while pings < wanted:
            if await manager.receive(timeout=within + 1) == {"WATCHDOG": "1"}:
                pings += 1
    return pings


async def test_watchdog_pings_at_half_the_timeout(
    manager: Manager, notifier: Notifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "50000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    interval = notify.watchdog_interval()
    assert interval == 0.025
    async with trio.open_nursery() as nursery:
        nursery.start_soon(notify.keep_watchdog, notifier, interval)
        assert await count_pings(manager, wanted=2, within=1.0) >= 2
        nursery.cancel_scope.cancel()


# -- without a service manager ------------------------------------------------------------------


async def test_without_notify_socket_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    with Notifier() as n:
        n.ready("team1: DOWN")
        assert n.status("team1: active eth0, 1/1 members healthy") is True
        n.watchdog()
        n.reloading()
        n.reloaded("team1: DOWN")
        n.stopping()


async def test_a_manager_that_went_away_is_no_error(manager: Manager, notifier: Notifier) -> None:
    manager.sock.close()
    notifier.ready("team1: DOWN")
    notifier.stopping()


async def test_a_full_queue_never_blocks(manager: Manager, notifier: Notifier) -> None:
    """Nobody reads: sends beyond the queue are dropped, never waited for (in a thread, so a
    blocking send fails this test instead of hanging it)."""

    def flood() -> None:
        for _ in range(10_000):
            notifier.watchdog()

    with trio.fail_after(2):
        await trio.to_thread.run_sync(flood, abandon_on_cancel=True)
    assert manager.pending()


# -- run() ---------------------------------------------------------------------------------------


def two_member_config() -> Config:
    return parse_config(
        {
            "team": [
                {
                    "name": "team1",
                    "member": [
                        {"name": "eth0", "role": "primary"},
                        {"name": "eth1", "role": "secondary"},
                    ],
                }
            ]
        }
    )


def fake_serve(engines: list[AftEngine]) -> Callable[..., object]:
    """Daemon.serve without a kernel: controllers with real engines, then ready."""

    async def serve(
        self: service.Daemon, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        for team, e in zip(self.config.teams, engines, strict=True):
            self.controllers.append(SimpleNamespace(team=team, engine=e))  # type: ignore[arg-type]
        task_status.started()
        await trio.sleep_forever()

    return serve


async def test_run_reports_ready_status_and_stopping(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = two_member_config()
    e = carrier(AftEngine(TeamPolicy.from_config(config.teams[0])), eth0=True, eth1=True)
    monkeypatch.setattr(service.Daemon, "serve", fake_serve([e]))
    monkeypatch.setenv("WATCHDOG_USEC", "50000")
    returned = trio.Event()

    async def daemon() -> None:
        await service.run(config)
        returned.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(daemon)
        ready = await manager.receive_with("READY")
        assert ready == {"READY": "1", "STATUS": "team1: active eth0, 2/2 members healthy"}
        assert await count_pings(manager, wanted=2, within=1.0) >= 2
        carrier(e, eth0=False)
        status = await manager.receive_with("STATUS")
        assert status == {"STATUS": "team1: active eth1, 1/2 members healthy"}
        # run() holds SIGTERM until it returns: this reaches its receiver, not the test process.
        os.kill(os.getpid(), signal.SIGTERM)
        assert await manager.receive_with("STOPPING") == {"STOPPING": "1"}
        with trio.fail_after(2):
            await returned.wait()


async def test_run_pings_no_watchdog_meant_for_another_process(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = two_member_config()
    e = carrier(AftEngine(TeamPolicy.from_config(config.teams[0])), eth0=True)
    monkeypatch.setattr(service.Daemon, "serve", fake_serve([e]))
    monkeypatch.setenv("WATCHDOG_USEC", "50000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run, config)
        assert await manager.receive() == {
            "READY": "1",
            "STATUS": "team1: active eth0, 1/2 members healthy",
        }
        await trio.sleep(0.3)
        assert manager.pending() == []
        os.kill(os.getpid(), signal.SIGTERM)
        assert await manager.receive() == {"STOPPING": "1"}


async def test_sighup_reloads_between_reloading_and_ready(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = two_member_config()
    e = carrier(AftEngine(TeamPolicy.from_config(config.teams[0])), eth0=True)
    monkeypatch.setattr(service.Daemon, "serve", fake_serve([e]))
    reloads: list[int] = []

    async def reload(self: service.Daemon) -> dict[str, object]:
        reloads.append(1)
        return {"changed": []}

    monkeypatch.setattr(service.Daemon, "reload", reload)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run, config)
        await manager.receive_with("READY")
        os.kill(os.getpid(), signal.SIGHUP)
        assert "MONOTONIC_USEC" in await manager.receive_with("RELOADING")
        assert "READY" in await manager.receive_with("READY")
        assert reloads == [1]
        os.kill(os.getpid(), signal.SIGINT)
        assert await manager.receive_with("STOPPING") == {"STOPPING": "1"}


async def test_a_failed_reload_keeps_running_and_says_so(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = two_member_config()
    e = carrier(AftEngine(TeamPolicy.from_config(config.teams[0])), eth0=True)
    monkeypatch.setattr(service.Daemon, "serve", fake_serve([e]))

    async def reload(self: service.Daemon) -> dict[str, object]:
        raise ControlError("invalid_config", "x.toml: team[0].name: required key is missing")

    monkeypatch.setattr(service.Daemon, "reload", reload)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(service.run, config)
        await manager.receive_with("READY")
        os.kill(os.getpid(), signal.SIGHUP)
        await manager.receive_with("RELOADING")
        ready = await manager.receive_with("READY")
        assert ready["STATUS"].startswith("reload failed, old config kept: x.toml: team[0].name")
        os.kill(os.getpid(), signal.SIGINT)
        assert await manager.receive_with("STOPPING") == {"STOPPING": "1"}
