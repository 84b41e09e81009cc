"""The lab's scripted scenario reports every switchover it expects."""

from __future__ import annotations

from pathlib import Path

from teamd_py.importers import import_file
from teamd_py.lab.scenario import scenario


async def test_the_lab_scenario_sees_failover_and_failback():
    lines: list[str] = []
    report = await scenario(lines.append)
    assert report.ok, "\n".join(lines)
    assert [(s["from_member"], s["to_member"], s["reason"]) for s in report.switchovers] == [
        ("eth0", "eth1", "active_down"),
        ("eth1", "eth0", "preempt"),
        ("eth0", "eth1", "path_down"),
    ]
    assert any("eth1 cannot reach" in line for line in lines), "\n".join(lines)
    assert any(line.startswith("  view     team1 up, active eth0") for line in lines)
    assert any(f"vadapt1 {50}/50" in line for line in lines), "\n".join(lines)


async def test_the_seeds_imported_script_runs_in_the_lab():
    seed = Path(__file__).resolve().parents[1] / "unit" / "data" / "seed_ianscfg.sh"
    imported = import_file("ianscfg", seed)
    lines: list[str] = []
    report = await scenario(lines.append, imported.text)
    assert report.ok, "\n".join(lines)
    assert [(s["to_member"], s["reason"]) for s in report.switchovers] == [
        ("eth1", "active_down"),
        ("eth0", "preempt"),
    ]
    assert any("probes no path" in line for line in lines)
