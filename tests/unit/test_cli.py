"""Tests for the `teamd-py` command line: `check`, and `run` refusing a bad file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from teamd_py.cli import EXIT_INVALID, main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
EXAMPLE_SUMMARY = "OK: team1 (2 members, 2 VLANs)"

VALID = """\
[[team]]
name = "team1"
  [[team.member]]
  name = "eth0"
"""


def write(tmp_path: Path, text: str, name: str = "teams.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_check_the_example_positional(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{EXAMPLE}: {EXAMPLE_SUMMARY}\n"
    assert err == ""


def test_check_the_example_with_config_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{EXAMPLE}: {EXAMPLE_SUMMARY}\n"
    assert err == ""


def test_check_a_small_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID)
    assert main(["check", "-c", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: OK: team1 (1 members, 0 VLANs)\n"
    assert err == ""


def test_check_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path,
        VALID
        + """\
  [[team.vlan]]
  name = "vadapt1"
  id = 5000
  addresses = ["192.168.1.1"]
""",
    )
    assert main(["check", str(path)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}: team[0].vlan[0].id: 5000 is not a VLAN id (1-4094)",
        f"{path}: team[0].vlan[0].addresses[0]: '192.168.1.1' has no prefix length; "
        "write it as CIDR, like '192.168.1.1/24'",
    ]


def test_check_suggests_a_near_miss_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID.replace('name = "eth0"', 'name = "eth0"\n  rol = "primary"'))
    assert main(["check", str(path)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{path}: team[0].member[0].rol: unknown key; did you mean 'role'?\n"


def test_check_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "absent.toml"
    assert main(["check", str(path)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{path}: cannot read the file: No such file or directory\n"


def test_check_invalid_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[[team]\nname = 1\n")
    assert main(["check", str(path)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{path}: invalid TOML: ")
    assert len(err.splitlines()) == 1


def test_check_same_file_twice_is_fine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE), "--config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == f"{EXAMPLE}: {EXAMPLE_SUMMARY}\n"


def test_check_two_different_files_is_refused(tmp_path: Path) -> None:
    other = write(tmp_path, VALID)
    with pytest.raises(SystemExit) as info:
        main(["check", str(EXAMPLE), "--config", str(other)])
    assert str(info.value) == (
        f"teamd-py check: give the config file once, not both {str(EXAMPLE)!r} "
        f"and --config {str(other)!r}"
    )


def test_run_refuses_an_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID.replace('name = "eth0"', 'name = "eth0"\n  priority = 5000'))
    assert main(["run", "--config", str(path)]) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{path}: team[0].member[0].priority: 5000 is out of range (-1000..1000)\n"


def test_run_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "absent.toml"
    assert main(["run", str(path)]) == EXIT_INVALID
    assert capsys.readouterr().err == f"{path}: cannot read the file: No such file or directory\n"


def test_the_module_runs_as_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "teamd_py", "check", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"{EXAMPLE}: {EXAMPLE_SUMMARY}\n"


def test_the_module_reports_problems_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, '[[team]]\nname = "team1"\n')
    result = subprocess.run(
        [sys.executable, "-m", "teamd_py", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_INVALID
    assert result.stdout == ""
    assert result.stderr == f"{path}: team[0].member: a team needs at least one [[team.member]]\n"
