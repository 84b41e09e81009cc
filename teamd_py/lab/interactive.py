"""`teamd-py lab --interactive`: the lab stays up and takes faults from another terminal.

Commands travel through a directory on the host's filesystem, not a socket: when the lab runs
inside User-Mode Linux, /var/tmp is the same directory on both sides while a socket in the guest
is out of the host's reach. A command is a JSON file; the lab answers with a file next to it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import trio

from teamd_py.lab.scenario import LAB_CONFIG
from teamd_py.sandbox.daemon import DaemonRun
from teamd_py.sandbox.topology import Topology

LAB_DIR = Path("/var/tmp/teamd-py-lab")
POLL = 0.1
SHOWN = (
    "switchover",
    "path_down",
    "path_up",
    "member_health",
    "team_up",
    "team_degraded",
    "team_down",
    "flap_damping",
    "drift_repaired",
)
MEMBERS = ("eth0", "eth1")


def _line(event: dict[str, Any]) -> str:
    fields = " ".join(
        f"{k}={v}" for k, v in event.items() if k not in ("event", "level", "timestamp", "team")
    )
    return f"  {event['timestamp'][11:23]} {event['event']} {fields}"


async def _handle(request: dict[str, Any], topo: Topology, run: DaemonRun) -> dict[str, Any]:
    command, member = request.get("command"), request.get("member")
    if command in ("fail", "heal") and member not in MEMBERS:
        return {"ok": False, "error": f"the lab's members are {', '.join(MEMBERS)}"}
    if command == "fail":
        await (topo.cut_path(member) if request.get("silent") else topo.cut_carrier(member))
        how = (
            "its switch port is cut off, carrier stays up"
            if request.get("silent")
            else "its cable is pulled"
        )
        return {"ok": True, "result": f"{member}: {how}"}
    if command == "heal":
        await topo.restore_carrier(member)
        if "master" not in await topo.sw("ip", "-o", "link", "show", topo.port(member)):
            await topo.restore_path(member)
        return {"ok": True, "result": f"{member}: cable and port restored"}
    if command == "state":
        args = ["state", "--json"] if request.get("json") else ["state"]
        proc = await trio.run_process(run.ctl(*args), capture_stdout=True, check=False)
        return {"ok": proc.returncode == 0, "result": proc.stdout.decode()}
    if command == "stop":
        return {"ok": True, "result": "stopping the lab"}
    return {"ok": False, "error": f"unknown lab command {command!r}"}


async def serve(directory: Path = LAB_DIR, say: Any = print) -> None:
    """Build the lab, run the daemon, answer commands until `stop`, then tear it all down."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.cmd"):
        stale.unlink()
    topo = Topology(prefix="tdplab")
    with tempfile.TemporaryDirectory(prefix="teamd-py-lab-") as tmp:
        config = Path(tmp) / "lab.toml"
        config.write_text(LAB_CONFIG)
        run = DaemonRun(topo, config, Path(tmp) / "daemon.log")
        await topo.create()
        try:
            async with trio.open_nursery() as nursery:
                await run.start(nursery)
                (directory / "pid").write_text(str(os.getpid()))
                say("lab is up: team1 over eth0 (primary) and eth1, VLAN 10 and 15, ARP probes")
                say(
                    "in another terminal:  teamd-py lab fail eth0 [--silent] | lab heal eth0 | "
                    "lab state [--json] | lab stop"
                )
                shown = 0
                while True:
                    events = run.events()
                    for event in events[shown:]:
                        if event.get("event") in SHOWN:
                            say(_line(event))
                    shown = len(events)
                    for request_file in sorted(directory.glob("*.cmd")):
                        request = json.loads(request_file.read_text())
                        reply = await _handle(request, topo, run)
                        answer = request_file.with_suffix(".out")
                        answer.with_suffix(".tmp").write_text(json.dumps(reply))
                        answer.with_suffix(".tmp").rename(answer)
                        request_file.unlink()
                        say(
                            f"  command  {request.get('command')} {request.get('member') or ''}"
                            f" -> {reply.get('result') or reply.get('error')}".rstrip()
                        )
                        if request.get("command") == "stop":
                            await run.stop()
                            return
                    await trio.sleep(POLL)
        finally:
            await topo.destroy()
            (directory / "pid").unlink(missing_ok=True)
            say("lab: torn down")


def send(request: dict[str, Any], directory: Path = LAB_DIR, timeout: float = 15) -> int:
    """The client side: drop a command, wait for the answer, print it."""
    if not (directory / "pid").exists():
        print(
            "teamd-py lab: no interactive lab is running (start one with "
            "'teamd-py lab --interactive')"
        )
        return 1
    name = directory / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    name.with_suffix(".tmp").write_text(json.dumps(request))
    name.with_suffix(".tmp").rename(name.with_suffix(".cmd"))
    answer = name.with_suffix(".out")
    deadline = time.monotonic() + timeout
    while not answer.exists():
        if time.monotonic() > deadline:
            print(f"teamd-py lab: the lab did not answer within {timeout:.0f} s")
            return 1
        time.sleep(POLL / 2)
    reply = json.loads(answer.read_text())
    answer.unlink()
    print((reply.get("result") or reply.get("error") or "").rstrip())
    return 0 if reply.get("ok") else 1
