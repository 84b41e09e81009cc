"""`teamd-py lab`: the seed's AFT team in a sandbox, with a scripted failure and recovery.

A server with eth0 (primary) and eth1 (secondary) cabled to a switch that holds a gateway on VLAN
10 and VLAN 15; the daemon runs there on the embedded config below. The scenario cuts the primary's
carrier, checks that both VLANs still carry traffic, restores it, and checks the failback. Each step
prints what the daemon did and how many pings crossed each VLAN. Everything is torn down at the end.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio

from teamd_py.config import ConfigError, parse_config
from teamd_py.sandbox.daemon import DaemonRun
from teamd_py.sandbox.topology import Topology
from teamd_py.sandbox.uml import UmlUnavailable, in_uml, missing_features, run_in_uml

LAB_CONFIG = """\
# The Intel ANS example of the seed: team1 in AFT mode over eth0 (primary) and eth1 (secondary),
# VLAN adapters vadapt1 (VLAN 10) and vadapt2 (VLAN 15).
[[team]]
name = "team1"
preempt = "always"
  [team.notify]
  count = 3
  interval_ms = 100
  [[team.member]]
  name = "eth0"
  role = "primary"
  [[team.member]]
  name = "eth1"
  role = "secondary"
  [[team.vlan]]
  name = "vadapt1"
  id = 10
  addresses = ["192.168.1.1/24"]
  [[team.vlan]]
  name = "vadapt2"
  id = 15
  addresses = ["192.168.2.1/24"]
  # Not in ianscfg: every member, the standby too, probes both gateways every 100 ms.
  [team.arp]
  interval_ms = 100
  missed_max = 3
  targets = [{ ip = "192.168.1.254", vlan = 10 }, { ip = "192.168.2.254", vlan = 15 }]
"""

GATEWAYS = {"vadapt1": "192.168.1.254", "vadapt2": "192.168.2.254"}
PINGS = 50


@dataclass
class Report:
    switchovers: list[dict[str, object]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


Say = Callable[[str], None]


def _say(line: str) -> None:
    print(line, flush=True)


async def _traffic(topo: Topology, say: Say, report: Report, phase: str) -> None:
    counts: dict[str, int] = {}

    async def one(device: str, gateway: str) -> None:
        counts[device] = await topo.ping(gateway, device, count=PINGS, interval=0.01, deadline=10)

    async with trio.open_nursery() as nursery:
        for device, gateway in GATEWAYS.items():
            nursery.start_soon(one, device, gateway)
    shown = ", ".join(f"{d} {counts[d]}/{PINGS}" for d in GATEWAYS)
    say(f"  traffic  {shown} replies")
    if any(counts[d] == 0 for d in GATEWAYS):
        report.failures.append(f"{phase}: no traffic on {[d for d in GATEWAYS if not counts[d]]}")


async def _view(run: DaemonRun, topo: Topology, say: Say) -> None:
    """One line of live view: the daemon's state and the traffic counters of each VLAN."""
    proc = await trio.run_process(run.ctl("state", "--json"), capture_stdout=True, check=False)
    try:
        team = json.loads(proc.stdout)["teams"]["team1"]
    except (ValueError, KeyError):
        say("  view     (the daemon does not answer)")
        return
    members = "  ".join(
        f"{name}: {m['state']} (carrier {'up' if m['carrier'] else 'down'}, path {m['path']})"
        for name, m in team["members"].items()
    )
    counters = []
    for device in GATEWAYS:
        stats = f"/sys/class/net/{device}/statistics"
        out = await topo.srv("cat", f"{stats}/rx_packets", f"{stats}/tx_packets", check=False)
        rx, tx = [*out.split(), "?", "?"][:2]
        counters.append(f"{device} rx {rx} tx {tx}")
    say(f"  view     team1 {team['state']}, active {team['active']}; {members}")
    say(f"  counters {'; '.join(counters)}")


async def _expect_path_down(run: DaemonRun, say: Say, report: Report, member: str) -> None:
    try:
        event = await run.wait_for("path_down", timeout=20, member=member)
    except AssertionError:
        report.failures.append(f"no path_down for {member}")
        say(f"  MISSING  path_down for {member}")
        return
    say(
        f"  path     {member} cannot reach {event['target']} (VLAN {event['vlan']}) after "
        f"{event['missed']} missed rounds, {event['since_reply_ms']} ms since its last answer"
    )


async def _active(topo: Topology) -> str:
    out = await topo.srv("cat", "/sys/class/net/team1/bonding/active_slave", check=False)
    return out.strip() or "none"


async def _expect_switch(
    run: DaemonRun, say: Say, report: Report, to_member: str, reason: str
) -> None:
    try:
        event = await run.wait_for(
            "switchover",
            timeout=20,
            to_member=to_member,
            after=len([s for s in report.switchovers if s["to_member"] == to_member]),
        )
    except AssertionError:
        report.failures.append(f"no switchover to {to_member}")
        say(f"  MISSING  switchover to {to_member}")
        return
    report.switchovers.append(event)
    say(
        f"  switch   {event['from_member']} -> {event['to_member']} ({event['reason']}) "
        f"decided and applied in {event['decision_ms']} ms"
    )
    if event["reason"] != reason:
        report.failures.append(f"switch to {to_member} for {event['reason']}, expected {reason}")


def _probes(config_text: str) -> bool:
    """Whether the config probes paths (without probes the silent failures are not detectable)."""
    config = parse_config(tomllib.loads(config_text), "lab config")
    if (
        [t.name for t in config.teams] != ["team1"]
        or {m.name for m in config.teams[0].members} != {"eth0", "eth1"}
        or {v.id for v in config.teams[0].vlans} != {10, 15}
    ):
        raise ValueError(
            "the lab runs team1 over eth0 and eth1 with VLANs 10 and 15, as in the seed's example"
        )
    return bool(config.teams[0].probes)


async def scenario(say: Say = _say, config_text: str = LAB_CONFIG) -> Report:
    """Build the lab, play the scenario, tear it all down; return what was seen."""
    report = Report()
    probing = _probes(config_text)
    topo = Topology(prefix=f"lab{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="teamd-py-lab-") as tmp:
        config = Path(tmp) / "lab.toml"
        config.write_text(config_text)
        run = DaemonRun(topo, config, Path(tmp) / "daemon.log")
        say(
            "lab: server eth0+eth1 -> switch br0, gateway 192.168.1.254 (VLAN 10) and "
            "192.168.2.254 (VLAN 15)"
        )
        await topo.create()
        try:
            async with trio.open_nursery() as nursery:
                await run.start(nursery)
                await run.wait_for("team_up", timeout=20)
                say(f"[1] team1 is up, active member {await _active(topo)}")
                await _view(run, topo, say)
                await _traffic(topo, say, report, "steady")

                say("[2] the primary's cable is pulled (eth0 loses carrier)")
                await topo.cut_carrier("eth0")
                await _expect_switch(run, say, report, "eth1", "active_down")
                await _view(run, topo, say)
                await _traffic(topo, say, report, "after failover")

                say(
                    "[3] the cable is back: eth0 regains carrier, preempt = always (flap damping "
                    "holds the failback until one loss has decayed)"
                )
                await topo.restore_carrier("eth0")
                await _expect_switch(run, say, report, "eth0", "preempt")
                await _view(run, topo, say)
                await _traffic(topo, say, report, "after failback")

                if not probing:
                    await run.stop()
                    say(
                        "[4] this config probes no path ([team.arp] or [team.ns]): the silent "
                        "failures are not detectable, so the scenario ends here"
                    )
                    return report
                say(
                    "[4] silent failure on the other path: eth1's switch port is cut off, its "
                    "carrier stays up; the standby's own probes notice, nothing switches"
                )
                switches = len(run.of("switchover"))
                await topo.cut_path("eth1")
                await _expect_path_down(run, say, report, "eth1")
                await _view(run, topo, say)
                if len(run.of("switchover")) != switches:
                    report.failures.append("a switch happened for a standby's path")
                await topo.restore_path("eth1")
                await run.wait_for(
                    "path_up",
                    timeout=20,
                    member="eth1",
                    after=len(run.of("path_up", member="eth1")),
                )
                say("  path     eth1 answers again")

                say("[5] silent failure of the active path: eth0's port is cut off, carrier up")
                await topo.cut_path("eth0")
                await _expect_switch(run, say, report, "eth1", "path_down")
                await _view(run, topo, say)
                await _traffic(topo, say, report, "after the silent failure")
                await topo.restore_path("eth0")

                await run.stop()
        finally:
            await topo.destroy()
    say(
        "lab: torn down; "
        + (
            "every expected switchover was seen"
            if report.ok
            else "PROBLEMS: " + "; ".join(report.failures)
        )
    )
    return report


def main(
    interactive: bool = False, directory: Path | None = None, config: Path | None = None
) -> int:
    """Run the lab here when the kernel can, else inside User-Mode Linux."""
    if os.geteuid() != 0:
        print(
            "teamd-py lab: needs root (it makes network namespaces and a kernel bond)",
            file=sys.stderr,
        )
        return 1
    from teamd_py.lab import interactive as live

    directory = directory or live.LAB_DIR
    missing = [] if in_uml() else missing_features()
    if missing:
        print(f"lab: this kernel lacks {', '.join(missing)}; booting User-Mode Linux", flush=True)
        argv = [sys.executable, "-m", "teamd_py", "lab"]
        if interactive:
            argv += ["--interactive", "--dir", str(directory)]
        if config is not None:
            argv += ["--config", str(config.resolve())]
        try:
            result = run_in_uml(
                argv, Path.cwd(), {"HOME": os.environ.get("HOME", "/root")}, stream=True
            )
        except UmlUnavailable as exc:
            print(f"teamd-py lab: {exc}", file=sys.stderr)
            return 1
        return result.returncode
    if interactive:
        trio.run(partial(live.serve, directory, _say))
        return 0
    try:
        text = config.read_text() if config is not None else LAB_CONFIG
        _probes(text)
    except (OSError, ValueError, ConfigError) as exc:
        print(f"teamd-py lab: {exc}", file=sys.stderr)
        return 2
    report = trio.run(partial(scenario, _say, text))
    return 0 if report.ok else 1
