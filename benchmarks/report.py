"""The benchmark's results as a markdown page and a chart, from the JSON the run wrote.

Drawing happens apart from measuring so that a run inside the slow guest only measures, and the
page can be redrawn (`--render`) without measuring again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.stats import (
    CellSummary,
    FlowResult,
    Verdict,
    markdown_table,
    percentile,
    ratio,
    summarise_cell,
    verdict_below,
    verdict_carrier,
    verdict_lost,
    verdict_silent,
    verdict_table,
)

FAULT_LABELS = {
    "none": "no fault (background)",
    "carrier": "carrier loss",
    "silent": "silent path failure",
    "planned": "planned switch",
    "failback": "failback",
    "restart": "daemon restart",
}
PY_CARRIER, PY_ARP100, PY_ARP20 = "tdp-carrier", "tdp-arp100", "tdp-arp20"
TEAMD_ETHTOOL, BOND_MIIMON = "teamd-ethtool", "bond-miimon"


def _flow(data: dict[str, Any]) -> FlowResult:
    return FlowResult(**data)


def cells(results: dict[str, Any]) -> dict[tuple[str, str], CellSummary | None]:
    out: dict[tuple[str, str], CellSummary | None] = {}
    for system in results["systems"]:
        for fault, trials in system["trials"].items():
            reps = [(_flow(t["up"]), _flow(t["down"])) for t in trials]
            out[(system["key"], fault)] = summarise_cell(reps) if reps else None
    return out


def scale_cell(results: dict[str, Any]) -> CellSummary | None:
    trials = results.get("scale", {}).get("trials", [])
    if not trials:
        return None
    return summarise_cell([(_flow(t["up"]), _flow(t["down"])) for t in trials])


def decisions(results: dict[str, Any], during: bool | None = None) -> list[float]:
    """teamd-py's decision_ms values: all, or only those logged with (or without) traffic."""
    pairs = [p for s in results["systems"] for p in s.get("decisions_ms", [])]
    pairs += results.get("scale", {}).get("decisions_ms", [])
    return [float(v) for v, busy in pairs if during is None or bool(busy) == during]


def latency_line(values: Sequence[float], what: str) -> str:
    if not values:
        return f"- {what}: none logged"
    return (
        f"- {what}: {len(values)} switchovers, p50 {percentile(values, 50):.2f} ms, "
        f"p99 {percentile(values, 99):.2f} ms, max {max(values):.2f} ms"
    )


def _cost(results: dict[str, Any], phase: str, name: str, key: str) -> float | None:
    value = results.get("cost", {}).get(phase, {}).get(name, {}).get(key)
    return None if value is None else float(value)


def verdicts(results: dict[str, Any]) -> list[Verdict]:
    table = cells(results)
    out = verdict_carrier(
        table.get((PY_CARRIER, "carrier")),
        table.get((TEAMD_ETHTOOL, "carrier")),
        table.get((BOND_MIIMON, "carrier")),
    )
    for key, name, interval in (
        (PY_ARP100, "ARP 100 ms x 3", 100),
        (PY_ARP20, "ARP 20 ms x 3", 20),
    ):
        out.append(verdict_silent(f"teamd-py, {name}", table.get((key, "silent")), interval, 3))
    for key in (PY_CARRIER, PY_ARP100, PY_ARP20):
        label = _label(results, key)
        out.append(
            verdict_lost(
                f"planned switch <= 1 lost per direction ({label})", table.get((key, "planned")), 1
            )
        )
    for key in (PY_CARRIER, PY_ARP100, PY_ARP20):
        label = _label(results, key)
        out.append(
            verdict_lost(f"daemon restart: 0 lost ({label})", table.get((key, "restart")), 0)
        )
    out.append(
        verdict_below(
            "idle CPU < 0.1% of a core", _cost(results, "idle", "teamd-py", "cpu_percent"), 0.1, "%"
        )
    )
    out.append(
        verdict_below(
            "probing 2 x 2 at 100 ms < 1% of a core",
            _cost(results, "probing", "teamd-py", "cpu_percent"),
            1.0,
            "%",
        )
    )
    rss = [_cost(results, p, "teamd-py", "rss_peak_kb") for p in ("idle", "probing")]
    known = [r / 1024 for r in rss if r is not None]
    out.append(verdict_below("RSS < 60 MB", max(known) if known else None, 60, "MB"))
    values = decisions(results)
    p99 = percentile(values, 99) if values else None
    out.append(verdict_below("decision latency p99 < 5 ms", p99, 5, "ms"))
    return out


def _label(results: dict[str, Any], key: str) -> str:
    for system in results["systems"]:
        if system["key"] == key:
            return str(system["label"])
    return key


def ratio_lines(results: dict[str, Any]) -> list[str]:
    """Carrier-loss outage of teamd-py against each other system, by the worse direction."""
    table = cells(results)
    mine = table.get((PY_CARRIER, "carrier"))
    lines = []
    if mine is None or mine.outage_median is None:
        return ["carrier loss: teamd-py did not recover, no ratio"]
    for system in results["systems"]:
        other = table.get((system["key"], "carrier"))
        if system["key"] == PY_CARRIER or other is None:
            continue
        theirs = other.outage_median
        r = ratio(mine.outage_median, theirs)
        shown = "n/a" if r is None else f"{r:.3f}"
        lines.append(
            f"carrier loss, teamd-py {mine.outage_median:.1f} ms vs {system['label']} "
            f"{'not recovered' if theirs is None else f'{theirs:.1f} ms'}: ratio {shown}"
        )
    return lines


def cost_table(results: dict[str, Any]) -> str:
    cost = results.get("cost", {})
    rows = [
        "| daemon | phase | CPU s | window s | % of a core | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for phase in ("idle", "probing"):
        for name, m in cost.get(phase, {}).items():
            rows.append(
                f"| {name} | {phase} | {m['cpu_s']:.2f} | {m['window_s']:.0f} | "
                f"{m['cpu_percent']:.3f} | {m['rss_peak_kb'] / 1024:.1f} |"
            )
    return "\n".join(rows)


def scale_lines(results: dict[str, Any]) -> list[str]:
    scale = results.get("scale")
    if not scale:
        return ["not measured"]
    lines = [f"{scale['teams']} teams x 2 members in one daemon, each with a VLAN and a gateway."]
    if "ready_s" in scale:
        lines.append(f"- start to `ready` (interpreter start included): {scale['ready_s']:.2f} s")
    for phase, what in (
        ("idle", "idle (carrier only)"),
        ("probing", "probing 64 members x 1 target at 100 ms x 3"),
    ):
        m = scale.get(phase)
        if m:
            lines.append(
                f"- {what}: {m['cpu_s']:.2f} CPU s in {m['window_s']:.0f} s = "
                f"{m['cpu_percent']:.3f}% of a core, peak RSS {m['rss_peak_kb'] / 1024:.1f} MB"
            )
    cell = scale_cell(results)
    if cell is not None:
        from benchmarks.stats import fmt_cell

        lines.append(
            f"- carrier loss of team t0's active member while the other 31 run (and probe), "
            f"{cell.up.reps} repetitions: {fmt_cell(cell).replace('<br>', '; ')}"
        )
    lines.append(
        "- the switch filters VLANs (each port pair carries only its team's VLAN), as a real "
        "switch with a VLAN per team would: without it every ARP probe floods all 64 ports."
    )
    for error in scale.get("errors", []):
        lines.append(f"- error: {error}")
    return lines


def chart(results: dict[str, Any], path: Path) -> None:
    """Median outage per system for each fault; bars that never recovered are hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = cells(results)
    systems = [(s["key"], s["label"]) for s in results["systems"]]
    faults = [
        f for f in results["faults"] if f != "none" and any((k, f) in table for k, _ in systems)
    ]
    columns = min(3, len(faults))
    rows = -(-len(faults) // columns)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(5.2 * columns, (0.45 * len(systems) + 1.6) * rows),
        squeeze=False,
    )
    colours = plt.get_cmap("tab10")
    labels = [label for _, label in systems]
    for index, ax in enumerate(axes.flat):
        if index >= len(faults):
            ax.axis("off")
            continue
        fault = faults[index]
        window = results["post_s"].get(fault, 1.5) * 1000
        for row, (key, _label) in enumerate(systems):
            cell = table.get((key, fault))
            if cell is None:
                ax.text(0, row, " n/a", va="center", fontsize=8, color="grey")
                continue
            value = cell.outage_median
            if value is None:
                ax.barh(row, window, color="white", edgecolor="grey", hatch="//")
                ax.text(window, row, " not recovered", va="center", fontsize=8)
            else:
                ax.barh(row, value, color=colours(row % 10))
                ax.text(value, row, f" {value:.0f} ms", va="center", fontsize=8)
        ax.set_title(FAULT_LABELS[fault])
        ax.set_xlabel("outage, ms")
        ax.set_xlim(left=0)
        ax.margins(x=0.3)
        ax.set_yticks(range(len(systems)), labels if index % columns == 0 else [""] * len(labels))
        ax.invert_yaxis()
    fig.suptitle(
        f"Outage from the fault to the last lost packet (median of {results['reps']}, worse "
        "direction) at 1 packet/ms each way\n"
        f"({results['date']}, kernel {results['kernel']}"
        f"{', User-Mode Linux, 1 vCPU' if results['uml'] else ''})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict[str, Any], chart_name: str | None) -> str:
    table = cells(results)
    systems = [(s["key"], s["label"]) for s in results["systems"]]
    faults = [(f, FAULT_LABELS[f]) for f in results["faults"]]
    where = (
        f"under User-Mode Linux (kernel {results['kernel']}, `uname -r` inside the guest) on one "
        "virtual CPU with a 100 Hz tick"
        if results["uml"]
        else f"on kernel {results['kernel']} with {results['cpus']} CPUs"
    )
    values = decisions(results)
    cost_window = results.get("cost", {}).get("window_s", 0)
    parts = [
        "# Failover benchmark",
        "",
        f"Run on {results['date']} {where}; {results['teamd_version'] or 'teamd'} for the "
        f"comparison. {results['reps']} repetition(s) per cell; the figures are medians. The whole "
        f"run took {results.get('duration_s', 0) / 60:.1f} minutes. Reproduce with:",
        "",
        f"    {results['command']}",
        "",
        "Traffic: 1 UDP packet per millisecond each way on VLAN 10 between the server (through the "
        "team) and the gateway on the switch, with sequence numbers; ↑ is server to gateway, ↓ "
        "gateway to server. The fault is injected by the process that sends and records the "
        "traffic. *Outage* is from the fault to the last lost packet (0 when nothing was lost); "
        "*not recovered* means packets were still being lost in the last 0.5 s of the window "
        f"({', '.join(f'{k} {v:g} s' for k, v in results['post_s'].items())} after the fault).",
        "",
        "## Outage and loss",
        "",
        markdown_table(systems, faults, table),
        "",
    ]
    if chart_name:
        parts += [f"![outage per system and fault]({chart_name})", ""]
    parts += ["## Targets", "", verdict_table(verdicts(results)), ""]
    parts += ["## Ratios", ""] + [f"- {line}" for line in ratio_lines(results)] + [""]
    parts += [
        "## Cost",
        "",
        f"CPU (utime + stime from /proc/PID/stat) over {cost_window:.0f}"
        " s after start-up has settled, peak RSS (VmHWM). Idle: teamd-py carrier only, teamd "
        "with the ethtool watcher. Probing: 2 members x 2 targets at 100 ms (teamd: two arp_ping "
        "watchers with `send_always`). The kernel bond has no process to measure. Under User-Mode "
        "Linux a process is also charged for moments the host did not run the guest at all, so "
        "the share of light periodic work varies from run to run; compare within a run, and "
        "with the scale test below.",
        "",
        cost_table(results),
        "",
        "## Decision latency",
        "",
        "`decision_ms` of teamd-py's `switchover` log lines in this run (from the arrival of "
        "the observation to the kernel's ACK of the switch), all systems and the scale test "
        "together. Those logged while the 1 packet/ms traffic ran share the one CPU with a "
        "real-time sender and its packets; the others came between measurements (undoing a "
        "fault, preparing a failback).",
        "",
        latency_line(values, "all"),
        latency_line(decisions(results, during=True), "with traffic"),
        latency_line(decisions(results, during=False), "without traffic"),
        "",
        "## Scale",
        "",
        *scale_lines(results),
        "",
        "## How each system is run",
        "",
        "- teamd-py: `teamd-py run` on the seed's team (eth0 primary, eth1 secondary, "
        '`preempt = "always"`, 3 announcements 50 ms apart); with ARP, both gateways are '
        "targets (`rise = 2`). Flap damping is off (`[team.damping] enabled = false`): faults "
        "repeated seconds apart would otherwise be damped as a flapping cable and delay every "
        "failback; everything else is the daemon's default, including the bond's own "
        "`miimon` kept as a safety net (`kernel_miimon_ms`). Planned switch: the control "
        "socket's `switch` (the benchmark speaks the protocol itself), then `switch --auto`. "
        "Restart: `kill -9`, then a new `teamd-py run`, which adopts the bond.",
        "- bonding: active-backup with `primary eth0`, `miimon 100`, or `arp_interval 100`, "
        "`arp_validate all` and both gateways as `arp_ip_target`. Planned switch: "
        "IFLA_BOND_ACTIVE_SLAVE over netlink, the same as `ip link set team1 type bond "
        "active_slave eth1`. Nothing to restart.",
        "- teamd: activebackup runner, port priorities 100 and 50, not sticky. Planned switch: "
        "`teamdctl team1 state item set runner.active_port eth1` (its process start is inside "
        "the measured outage). Restart: teamd runs with `-N` (do not destroy the device on "
        "quit); `kill -9` leaves the device anyway, and the new teamd is started with `-o` "
        "(take over the existing device), which keeps the ports enslaved (`-r` would re-create "
        "the device instead).",
        "",
        "## Caveats",
        "",
        "- The traffic runs at real-time priority (SCHED_FIFO, not inherited by the daemons): "
        "at normal priority it could not be sent while a daemon reacts on the one CPU, and a "
        "slow reaction would look like delay instead of loss. The daemons run at normal "
        "priority and so compete with it; their decision times include that.",
        "- *no fault* is a window with nothing injected: loss there is background loss of the "
        "system itself (teamd's `send_always` probes from the standby move the team's MAC to "
        "the standby's switch port for a moment), and the same background can make a fault "
        "look *not recovered* when packets are still lost now and then at the window's end.",
        "- One virtual CPU runs the traffic, the daemons and the kernel: when the kernel itself "
        "is busy (a netlink request, a process start), packets due meanwhile leave late, in a "
        "burst, and are timed by when they really left.",
        "- Each outage is at the resolution of the packet rate (1 ms), and the run shares the "
        "machine with other work; the systems are compared side by side within one run.",
    ]
    errors = [f"{s['label']}: {e}" for s in results["systems"] for e in s.get("errors", [])]
    errors += [f"cost: {e}" for e in results.get("cost", {}).get("errors", [])]
    trial_errors = [
        f"{s['label']}, {fault}: {t['error']}"
        for s in results["systems"]
        for fault, trials in s["trials"].items()
        for t in trials
        if t.get("error")
    ]
    if errors or trial_errors:
        parts += ["", "## Errors during the run", ""] + [f"- {e}" for e in errors + trial_errors]
    return "\n".join(parts) + "\n"


def write_report(results: dict[str, Any], out: Path) -> Sequence[str]:
    """Write failover.md and failover.png into `out`; returns the lines worth printing."""
    chart_name: str | None = "failover.png"
    try:
        if results["systems"]:
            chart(results, out / "failover.png")
        else:
            chart_name = None
    except ImportError:
        chart_name = None
    (out / "failover.md").write_text(markdown(results, chart_name))
    table = cells(results)
    lines = ["", "median outage (worse direction) and lost packets per system and fault:"]
    for system in results["systems"]:
        shown = []
        for fault in results["faults"]:
            cell = table.get((system["key"], fault))
            if cell is None:
                continue
            outage = (
                "not recovered" if cell.outage_median is None else f"{cell.outage_median:.1f} ms"
            )
            shown.append(f"{fault} {outage} ({cell.lost_max} lost max)")
        lines.append(f"  {system['label']}: " + "; ".join(shown))
    lines += ["", *ratio_lines(results), ""]
    for v in verdicts(results):
        met = "not measured" if v.met is None else "met" if v.met else "NOT MET"
        lines.append(f"  {met:12} {v.target}: {v.measured}")
    if chart_name is None:
        lines.append("matplotlib is missing (pip install '.[bench]'): no chart drawn")
    lines.append(f"written: {out / 'failover.md'}")
    return lines
