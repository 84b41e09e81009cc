"""`teamd-py run` as a child process in a namespace, its JSON log lines read back from a file."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from teamd_py.sandbox.topology import Topology


class DaemonRun:
    """`teamd-py run` in the server namespace, its JSON log lines collected from a file."""

    def __init__(self, topo: Topology, config: Path, log: Path) -> None:
        self.topo = topo
        self.config = config
        self.log = log
        self.process: trio.Process | None = None
        self.socket = log.with_suffix(".sock")
        text = config.read_text()
        if "control_socket" not in text:  # never the system's default socket
            line = f'control_socket = "{self.socket}"\n'
            if "[daemon]\n" in text:
                text = text.replace("[daemon]\n", "[daemon]\n" + line, 1)
            else:
                text = f"[daemon]\n{line}\n{text}"
            config.write_text(text)

    def ctl(self, *args: str) -> list[str]:
        """A `teamd-py` client command line for this daemon's socket."""
        return [sys.executable, "-m", "teamd_py", *args, "--socket", str(self.socket)]

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

    async def wait_for(
        self, event: str, timeout: float = 30, after: int = 0, **match: Any
    ) -> dict[str, Any]:
        """The latest matching event, once more than `after` of them were logged."""
        with trio.move_on_after(timeout):
            while True:
                found = self.of(event, **match)
                if len(found) > after:
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
