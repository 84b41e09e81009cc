"""The systemd unit: systemd itself accepts it, and it keeps the settings the daemon relies on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "teamd-py.service"
INSTALLED = "/usr/bin/teamd-py"


def settings(text: str) -> dict[str, list[str]]:
    """`Section.Key` -> every value assigned to it, in order (systemd accumulates many)."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"continuation lines are not expected: {raw!r}"
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a setting: {raw!r}"
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


@pytest.fixture(scope="module")
def unit() -> dict[str, list[str]]:
    return settings(UNIT.read_text())


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail(
            "systemd-analyze is missing (Debian package: systemd), so the unit cannot be verified"
        )
    # verify insists that ExecStart= names an executable: use this environment's entry point.
    command = Path(sys.executable).with_name("teamd-py")
    assert os.access(command, os.X_OK), f"no teamd-py entry point beside {sys.executable}"
    text = UNIT.read_text()
    assert text.count(f"ExecStart={INSTALLED} ") == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={command} "))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    # verify exits 0 even for unknown keys and unparsable values: those are lines naming the file.
    problems = [line for line in output.splitlines() if UNIT.name in line]
    assert result.returncode == 0, output
    assert problems == [], output


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Unit.After", "network-pre.target"),
        ("Unit.Before", "network.target"),
        ("Service.Type", "notify"),
        ("Service.NotifyAccess", "main"),
        ("Service.ExecStart", f"{INSTALLED} run --config /etc/teamd-py/config.toml"),
        ("Service.WatchdogSec", "10s"),
        ("Service.Restart", "on-failure"),
        ("Service.RuntimeDirectory", "teamd-py"),
        ("Service.RuntimeDirectoryMode", "0750"),
        ("Service.RuntimeDirectoryPreserve", "yes"),
        ("Service.NoNewPrivileges", "yes"),
        ("Service.ProtectSystem", "strict"),
        ("Service.ProtectHome", "yes"),
        ("Service.PrivateTmp", "yes"),
        ("Service.ProtectKernelModules", "yes"),
        ("Service.ProtectKernelLogs", "yes"),
        ("Service.ProtectControlGroups", "yes"),
        ("Service.ProtectClock", "yes"),
        ("Service.ProtectHostname", "yes"),
        ("Service.RestrictNamespaces", "yes"),
        ("Service.RestrictRealtime", "yes"),
        ("Service.RestrictSUIDSGID", "yes"),
        ("Service.LockPersonality", "yes"),
        ("Service.MemoryDenyWriteExecute", "yes"),
        ("Service.SystemCallFilter", "@system-service"),
        ("Service.SystemCallArchitectures", "native"),
        ("Install.WantedBy", "multi-user.target"),
    ],
)
def test_setting(unit: dict[str, list[str]], key: str, value: str) -> None:
    assert unit.get(key) == [value]


def test_reload_is_a_sighup_to_the_main_process(unit: dict[str, list[str]]) -> None:
    [reload] = unit["Service.ExecReload"]
    assert reload.split() == ["/bin/kill", "-HUP", "$MAINPID"]


@pytest.mark.parametrize("key", ["Service.CapabilityBoundingSet", "Service.AmbientCapabilities"])
def test_capabilities_are_exactly_net_admin_and_net_raw(
    unit: dict[str, list[str]], key: str
) -> None:
    [caps] = unit[key]
    assert sorted(caps.split()) == ["CAP_NET_ADMIN", "CAP_NET_RAW"]


def test_address_families(unit: dict[str, list[str]]) -> None:
    [families] = unit["Service.RestrictAddressFamilies"]
    assert not families.startswith("~"), "an allow list, not a deny list"
    assert set(families.split()) >= {"AF_UNIX", "AF_NETLINK", "AF_INET", "AF_INET6", "AF_PACKET"}


def test_no_extra_writable_paths(unit: dict[str, list[str]]) -> None:
    assert "Service.ReadWritePaths" not in unit
