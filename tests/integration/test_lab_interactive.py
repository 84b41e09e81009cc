"""`teamd-py lab --interactive`: faults injected and healed from another process, state read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import trio


async def lab(directory: Path, *args: str) -> tuple[int, str]:
    argv = [sys.executable, "-m", "teamd_py", "lab", *args, "--dir", str(directory)]
    proc = await trio.run_process(argv, capture_stdout=True, capture_stderr=True, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).decode()


async def test_an_interactive_lab_takes_faults_from_another_terminal(tmp_path: Path, nursery):
    directory = tmp_path / "lab"
    log = tmp_path / "lab.out"
    with log.open("wb") as out:
        argv = [sys.executable, "-m", "teamd_py", "lab", "--interactive", "--dir", str(directory)]
        proc = await nursery.start(
            lambda task_status: trio.run_process(
                argv, stdout=out, stderr=out, check=False, task_status=task_status
            )
        )
    with trio.fail_after(60):
        while "lab is up" not in log.read_text():
            assert proc.returncode is None, log.read_text()
            await trio.sleep(0.1)
        code, out = await lab(directory, "fail", "eth0")
        assert code == 0 and "eth0: its cable is pulled" in out
        while True:  # the daemon moves traffic; state shows it
            code, out = await lab(directory, "state", "--json")
            assert code == 0, out
            if json.loads(out)["teams"]["team1"]["active"] == "eth1":
                break
            await trio.sleep(0.2)
        code, out = await lab(directory, "heal", "eth0")
        assert code == 0 and "restored" in out
        code, out = await lab(directory, "fail", "eth1", "--silent")
        assert code == 0 and "carrier stays up" in out
        code, out = await lab(directory, "fail", "eth7")
        assert code == 1 and "eth0, eth1" in out
        code, out = await lab(directory, "stop")
        assert code == 0
        assert await proc.wait() == 0
    text = log.read_text()
    assert "switchover" in text and "lab: torn down" in text, text
    code, out = await lab(directory, "state")
    assert code == 1 and "no interactive lab is running" in out
    namespaces = await trio.run_process(["ip", "netns", "list"], capture_stdout=True)
    assert b"tdplab" not in namespaces.stdout
