"""Failover benchmark: teamd-py against the kernel bond's own monitoring and against teamd.

For each system it builds the sandbox topology, sends 1 packet/ms of sequenced UDP each way
between the server and the gateway on VLAN 10, injects a fault from that same process and counts,
per direction, the packets lost and the outage (fault to the last lost packet). Faults: carrier
loss of the active member, a silent path failure (carrier stays up), a planned switch, failback
when the primary returns, and a daemon restart. Then the cost (CPU, peak RSS) of teamd-py and teamd
idle and probing, the decision latency from teamd-py's own log, and one daemon with 32 teams.

On a kernel without bonding or 802.1Q it boots User-Mode Linux and runs everything there, in one
guest; the raw results come back as JSON and the table and chart are drawn on the host.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` importable as a package
    sys.path.insert(0, str(REPO))

import trio  # noqa: E402

from benchmarks.stats import analyse_flow  # noqa: E402
from benchmarks.systems import (  # noqa: E402
    GATEWAY_IP,
    PRIMARY,
    SECONDARY,
    SERVER_IP,
    BatchTopology,
    System,
    SystemError_,
    Teamd,
    TeamdPy,
    all_systems,
    arp_ping_watchers,
    control,
    cpu_seconds,
    peak_rss_kb,
    spawn,
    stop,
)
from benchmarks.traffic import LinkOps, UdpPair  # noqa: E402
from teamd_py.sandbox.topology import Topology, sh  # noqa: E402
from teamd_py.sandbox.uml import in_uml, missing_features, run_in_uml  # noqa: E402

DEFAULT_OUT = REPO / "docs" / "benchmarks"
RESULTS = "failover.json"
FAULTS = ("none", "carrier", "silent", "planned", "failback", "restart")
PRE_S = 0.3
POST_S = {
    "none": 2.0,
    "carrier": 1.5,
    "silent": 1.5,
    "planned": 1.0,
    "failback": 3.0,
    "restart": 2.0,
}
POST_RESTART_PY_S = 6.0  # an interpreter start under the guest takes seconds
SCALE_TEAMS = 32

Say = Callable[[str], None]


def say(line: str) -> None:
    print(line, flush=True)


# -- one system, every fault ----------------------------------------------------------------------


def settle_s(system: System) -> float:
    """Time for probing systems to prove both paths again before the next repetition."""
    return 1.0 if system.probe else 0.3


async def wait_active(system: System, member: str, timeout: float = 20) -> None:
    with trio.move_on_after(timeout):
        while await system.active() != member:
            await trio.sleep(0.05)
        return
    raise SystemError_(f"{system.key}: {member} not active after {timeout} s")


async def one_trial(
    system: System, fault: str, pair: UdpPair, sw: LinkOps, port: str
) -> dict[str, Any]:
    """Prepare, measure one fault, undo it and wait until the system is back on the primary."""

    async def run(action: Callable[[], None]) -> None:
        action()

    undo: Callable[[], Awaitable[None]] | None = None
    if fault == "none":  # the background: what a system loses with nothing happening
        act: Callable[[], Awaitable[None]] = trio.lowlevel.checkpoint
    elif fault == "carrier":
        act = lambda: run(lambda: sw.set_up(port, False))  # noqa: E731
        undo = lambda: run(lambda: sw.set_up(port, True))  # noqa: E731
    elif fault == "silent":
        act = lambda: run(lambda: sw.set_master(port, None))  # noqa: E731
        undo = lambda: run(lambda: sw.set_master(port, "br0"))  # noqa: E731
    elif fault == "planned":
        act = lambda: system.planned_switch(SECONDARY)  # noqa: E731
        undo = system.release
    elif fault == "failback":
        sw.set_up(port, False)
        await wait_active(system, SECONDARY)
        await trio.sleep(settle_s(system))
        act = lambda: run(lambda: sw.set_up(port, True))  # noqa: E731
    else:
        act = system.restart
    post = POST_S[fault]
    if fault == "restart" and isinstance(system, TeamdPy):
        post = POST_RESTART_PY_S
    system.tag(during_traffic=False)
    log = await pair.trial(act, PRE_S, post)
    system.tag(during_traffic=True)
    active_after = await system.active()
    if undo is not None:
        await undo()
    await wait_active(system, PRIMARY)
    await trio.sleep(settle_s(system))
    up = analyse_flow(log.up.send_times, log.up.flags(), log.fault_time)
    down = analyse_flow(log.down.send_times, log.down.flags(), log.fault_time)
    return {
        "up": asdict(up),
        "down": asdict(down),
        "active_after": active_after,
        "fault_s": round(log.fault_s, 4),
        "error": log.fault_error,
        "realtime": pair.realtime,
        "traffic_cpu": round(pair.cpu_share, 3),
    }


def _fmt(flow: dict[str, Any]) -> str:
    outage = "not recovered" if flow["outage_ms"] is None else f"{flow['outage_ms']:.1f} ms"
    return f"{flow['lost']} lost, {outage}"


async def run_system(
    system: System, index: int, reps: int, workdir: Path, faults: tuple[str, ...]
) -> dict[str, Any]:
    topo = Topology(prefix=f"fb{index}")
    out: dict[str, Any] = {"key": system.key, "label": system.label, "trials": {}, "errors": []}
    say(f"== {system.label}")
    await topo.create()
    pair: UdpPair | None = None
    sw: LinkOps | None = None
    try:
        await system.start(topo, workdir)
        await wait_active(system, PRIMARY)
        await trio.sleep(settle_s(system) + 0.5)
        pair = UdpPair(topo.server, SERVER_IP, topo.switch, GATEWAY_IP)
        sw = LinkOps(topo.switch)
        await pair.trial(trio.sleep, 0.2, 0.3)  # resolves the neighbours on both sides
        for fault in faults:
            if fault == "restart" and not system.restartable:
                continue
            trials = out["trials"].setdefault(fault, [])
            for rep in range(reps):
                try:
                    trial = await one_trial(system, fault, pair, sw, topo.port(PRIMARY))
                except Exception as exc:
                    out["errors"].append(f"{fault} #{rep + 1}: {type(exc).__name__}: {exc}")
                    say(f"  {fault:8} #{rep + 1}: ERROR {exc}")
                    continue
                trials.append(trial)
                extra = f" [{trial['error']}]" if trial["error"] else ""
                say(
                    f"  {fault:8} #{rep + 1}: up {_fmt(trial['up'])}; down {_fmt(trial['down'])}; "
                    f"active after: {trial['active_after']}{extra}"
                )
    except Exception as exc:
        out["errors"].append(f"setup: {type(exc).__name__}: {exc}")
        say(f"  ERROR {exc}")
    finally:
        if pair is not None:
            pair.close()
        if sw is not None:
            sw.close()
        with contextlib.suppress(Exception):
            await system.close()
        await topo.destroy()
    out["decisions_ms"] = system.decisions_ms()
    if isinstance(system, TeamdPy):
        out["ready_s"] = system.ready_s
    return out


# -- cost -----------------------------------------------------------------------------------------


async def measure_cpu(pids: dict[str, int], window_s: float) -> dict[str, dict[str, float]]:
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    started = time.monotonic()
    await trio.sleep(window_s)
    elapsed = time.monotonic() - started
    out = {}
    for key, pid in pids.items():
        used = cpu_seconds(pid) - before[key]
        out[key] = {
            "cpu_s": round(used, 3),
            "window_s": round(elapsed, 3),
            "cpu_percent": round(100 * used / elapsed, 4),
            "rss_peak_kb": peak_rss_kb(pid),
        }
    return out


async def run_cost(workdir: Path, window_s: float) -> dict[str, Any]:
    """teamd-py and teamd side by side, each in its own topology: idle, then probing 2 x 2."""
    phases = {
        "idle": (TeamdPy("cost-tdp", "teamd-py"), Teamd("cost-teamd", "teamd")),
        "probing": (
            TeamdPy("cost-tdp-arp", "teamd-py", probe=(100, 3)),
            Teamd("cost-teamd-arp", "teamd", probe=(100, 3), watchers=arp_ping_watchers(100, 3)),
        ),
    }
    out: dict[str, Any] = {"window_s": window_s}
    for phase, systems in phases.items():
        say(f"== cost, {phase}: {window_s:.0f} s")
        topos = [Topology(prefix=f"c{phase[0]}{i}") for i in range(len(systems))]
        try:
            for topo, system in zip(topos, systems, strict=True):
                await topo.create()
                await system.start(topo, workdir)
            await trio.sleep(3)  # start-up work is not idle work
            pids = {}
            for name, system in zip(("teamd-py", "teamd"), systems, strict=True):
                assert system.pid is not None
                pids[name] = system.pid
            measured = await measure_cpu(pids, window_s)
            out[phase] = measured
            for name, m in measured.items():
                say(
                    f"  {name:9} {m['cpu_s']:.2f} CPU s in {m['window_s']:.0f} s = "
                    f"{m['cpu_percent']:.3f}% of a core, peak RSS {m['rss_peak_kb'] / 1024:.1f} MB"
                )
        except Exception as exc:
            out.setdefault("errors", []).append(f"{phase}: {type(exc).__name__}: {exc}")
            say(f"  ERROR {exc}")
        finally:
            for system in systems:
                with contextlib.suppress(Exception):
                    await system.close()
            for topo in topos:
                await topo.destroy()
    return out


# -- scale ----------------------------------------------------------------------------------------


def scale_config(socket_path: str, teams: int, probe: bool) -> str:
    lines = ["[daemon]", f'control_socket = "{socket_path}"', ""]
    for k in range(teams):
        lines += [
            f'[[team]]\nname = "t{k}"\npreempt = "always"',
            "  [team.damping]\n  enabled = false",
            f'  [[team.member]]\n  name = "eth{2 * k}"\n  role = "primary"',
            f'  [[team.member]]\n  name = "eth{2 * k + 1}"\n  role = "secondary"',
            f'  [[team.vlan]]\n  name = "v{k}"\n  id = {100 + k}\n'
            f'  addresses = ["192.168.{100 + k}.1/24"]',
        ]
        if probe:
            lines.append(
                "  [team.arp]\n  interval_ms = 100\n  missed_max = 3\n"
                f'  targets = [{{ ip = "192.168.{100 + k}.254", vlan = {100 + k} }}]'
            )
    return "\n".join(lines) + "\n"


async def run_scale(workdir: Path, window_s: float, reps: int) -> dict[str, Any]:
    """One daemon, 32 teams of 2: start to ready, cost idle and probing, one team's failover."""
    from benchmarks.systems import LogFollower

    n = SCALE_TEAMS
    say(f"== scale: {n} teams x 2 members in one daemon")
    topo = BatchTopology(
        prefix="scale",
        members=tuple(f"eth{i}" for i in range(2 * n)),
        gateways=tuple((100 + k, f"192.168.{100 + k}.254/24") for k in range(n)),
        port_vlans={f"p{i}": (100 + i // 2,) for i in range(2 * n)},
    )
    out: dict[str, Any] = {"teams": n, "window_s": window_s, "trials": [], "errors": []}
    sock = str(workdir / "scale.sock")
    config = workdir / "scale.toml"
    proc = None
    log = LogFollower(workdir / "scale.log")
    pair: UdpPair | None = None
    sw: LinkOps | None = None
    try:
        started = time.monotonic()
        await topo.create()
        out["topology_s"] = round(time.monotonic() - started, 2)
        config.write_text(scale_config(sock, n, probe=False))
        log.path.write_text("")
        argv = ["ip", "netns", "exec", topo.server, sys.executable, "-m", "teamd_py", "run"]
        started = time.monotonic()
        proc = await spawn([*argv, "--config", str(config)], log.path)
        await log.wait_for("ready", timeout=180)
        out["ready_s"] = round(time.monotonic() - started, 3)
        say(f"  start to ready: {out['ready_s']:.2f} s (topology built in {out['topology_s']} s)")
        await trio.sleep(3)
        out["idle"] = (await measure_cpu({"teamd-py": proc.pid}, window_s))["teamd-py"]
        say(f"  idle: {out['idle']['cpu_percent']:.3f}% of a core")
        config.write_text(scale_config(sock, n, probe=True))
        await control(sock, {"command": "reload"}, timeout=60)
        with trio.fail_after(60):
            while len({e["member"] for e in log.of("path_up")}) < 2 * n:
                await trio.sleep(0.2)
                log.poll()
        await trio.sleep(3)
        out["probing"] = (await measure_cpu({"teamd-py": proc.pid}, window_s))["teamd-py"]
        say(
            f"  probing {2 * n} members x 1 target at 100 ms: "
            f"{out['probing']['cpu_percent']:.3f}% of a core, "
            f"peak RSS {out['probing']['rss_peak_kb'] / 1024:.1f} MB"
        )
        pair = UdpPair(topo.server, "192.168.100.1", topo.switch, "192.168.100.254")
        sw = LinkOps(topo.switch)
        await pair.trial(trio.sleep, 0.2, 0.3)
        port = topo.port("eth0")

        async def active() -> str | None:
            raw = await sh("ip", "-n", topo.server, "-d", "-j", "link", "show", "dev", "t0")
            return json.loads(raw)[0]["linkinfo"]["info_data"].get("active_slave")

        log.poll()
        seen, quiet, busy = [len(log.events)], [], []
        for rep in range(reps):

            async def cut() -> None:
                sw.set_up(port, False)

            log.poll()
            quiet.extend(log.events[seen[0] :])
            seen[0] = len(log.events)
            trial = await pair.trial(cut, PRE_S, POST_S["carrier"])
            log.poll()
            busy.extend(log.events[seen[0] :])
            seen[0] = len(log.events)
            after = await active()
            sw.set_up(port, True)
            with trio.fail_after(20):
                while await active() != "eth0":
                    await trio.sleep(0.05)
            await trio.sleep(1.0)
            up = analyse_flow(trial.up.send_times, trial.up.flags(), trial.fault_time)
            down = analyse_flow(trial.down.send_times, trial.down.flags(), trial.fault_time)
            record = {"up": asdict(up), "down": asdict(down), "active_after": after}
            out["trials"].append(record)
            say(f"  carrier #{rep + 1}: up {_fmt(record['up'])}; down {_fmt(record['down'])}")
        log.poll()
        quiet.extend(log.events[seen[0] :])
        out["decisions_ms"] = [
            (float(e["decision_ms"]), during)
            for events, during in ((busy, True), (quiet, False))
            for e in events
            if e.get("event") == "switchover" and e.get("decision_ms") is not None  # kernel: null
        ]
    except Exception as exc:
        out["errors"].append(f"{type(exc).__name__}: {exc}")
        say(f"  ERROR {exc!r}")
    finally:
        if pair is not None:
            pair.close()
        if sw is not None:
            sw.close()
        await stop(proc)
        await topo.destroy()
    return out


# -- the whole run --------------------------------------------------------------------------------


def load_team_modules() -> None:
    """teamd needs the team driver; the guest keeps its modules under its own directory."""
    argv = ["modprobe", "team_mode_activebackup"]
    if in_uml():
        argv[1:1] = ["-d", "/tmp/modroot"]
    subprocess.run(argv, check=False, capture_output=True)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    load_team_modules()
    reps = 1 if args.quick else args.reps
    window = 10.0 if args.quick else 60.0
    scale_window = 5.0 if args.quick else 30.0
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": os.uname().release,
        "uml": in_uml(),
        "cpus": os.cpu_count(),
        "reps": reps,
        "quick": args.quick,
        "command": command_line(args),
        "faults": list(FAULTS),
        "post_s": POST_S | {"restart (teamd-py)": POST_RESTART_PY_S},
        "systems": [],
    }
    teamd_version = subprocess.run(["teamd", "-v"], capture_output=True, text=True, check=False)
    results["teamd_version"] = teamd_version.stdout.strip() or teamd_version.stderr.strip()
    faults = tuple(f for f in FAULTS if not args.faults or f in args.faults)
    workdir = Path(tempfile.mkdtemp(prefix="teamd-py-bench-", dir=args.workdir))
    try:
        for index, system in enumerate(all_systems()):
            if args.systems and system.key not in args.systems:
                continue
            results["systems"].append(await run_system(system, index, reps, workdir, faults))
        if not args.no_cost:
            results["cost"] = await run_cost(workdir, window)
        if not args.no_scale:
            results["scale"] = await run_scale(workdir, scale_window, max(reps, 1))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results["duration_s"] = round(time.monotonic() - started, 1)
    return results


def command_line(args: argparse.Namespace) -> str:
    parts = ["sudo", ".venv/bin/python", "benchmarks/failover.py"]
    if args.quick:
        parts.append("--quick")
    elif args.reps != 5:
        parts += ["--reps", str(args.reps)]
    return shlex.join(parts)


def ensure_packages(need_uml: bool) -> None:
    """Install what the comparison needs, the way the project's bootstrap does (Debian)."""
    need = []
    if shutil.which("teamd") is None or shutil.which("teamdctl") is None:
        need.append("libteam-utils")
    if need_uml and shutil.which("linux.uml") is None:
        need += ["user-mode-linux", "kmod"]
    if not need:
        return
    if shutil.which("apt-get") is None:
        raise SystemExit(f"install {' '.join(need)} first")
    say(f"installing {' '.join(need)}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", *need], check=True, env=env)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions per fault (default 5)")
    parser.add_argument(
        "--quick", action="store_true", help="one repetition and short cost windows (smoke run)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where results are written")
    parser.add_argument("--systems", nargs="*", help="only these system keys (development)")
    parser.add_argument("--faults", nargs="*", choices=FAULTS, help="only these faults")
    parser.add_argument("--no-cost", action="store_true", help="skip the cost measurement")
    parser.add_argument("--no-scale", action="store_true", help="skip the 32-team measurement")
    parser.add_argument(
        "--render", action="store_true", help="only redraw the table and chart from the JSON"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep configs and daemon logs here (not under /tmp or /run)"
    )
    parser.add_argument("--no-render", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def render(out: Path) -> None:
    from benchmarks.report import write_report

    results = json.loads((out / RESULTS).read_text())
    for line in write_report(results, out):
        say(line)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out: Path = args.out.resolve()
    if args.render:
        render(out)
        return 0
    if os.geteuid() != 0:
        say("failover benchmark: needs root (network namespaces, bonds, teamd)")
        return 1
    missing = [] if in_uml() else missing_features()
    if missing:
        if out.is_relative_to("/tmp") or out.is_relative_to("/run"):
            say(f"--out {out}: the guest mounts its own /tmp and /run; choose another place")
            return 1
        ensure_packages(need_uml=True)
        say(f"this kernel lacks {', '.join(missing)}; running inside User-Mode Linux")
        inner = [sys.executable, str(Path(__file__).resolve()), *(argv or sys.argv[1:])]
        inner += ["--no-render", "--out", str(out)]
        env = {"HOME": os.environ.get("HOME", "/root"), "PYTHONDONTWRITEBYTECODE": "1"}
        result = run_in_uml(inner, REPO, env, timeout=3600, stream=True)
        if result.returncode != 0:
            say(f"the benchmark failed inside the guest (exit {result.returncode})")
            return result.returncode
    else:
        ensure_packages(need_uml=False)
        results = trio.run(bench, args)
        out.mkdir(parents=True, exist_ok=True)
        (out / RESULTS).write_text(json.dumps(results, indent=1) + "\n")
        say(f"results: {out / RESULTS} ({results['duration_s']:.0f} s)")
        if args.no_render:
            return 0
    render(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
