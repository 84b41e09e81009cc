"""Kernel tests run on a real kernel with bonding and 802.1Q, never skipped.

Tests marked `kernel` run directly when this kernel has what they need (and we are root). When it
does not, each of them is replaced at collection by a stand-in with the same node id, and the first
stand-in to run boots one User-Mode Linux guest that runs all the real ones at once. Each stand-in
then reports its own test's outcome from inside the guest, failure text included. A test skipped
inside the guest fails here: an integration test that did not run has not passed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from teamd_py.sandbox.uml import UmlUnavailable, in_uml, missing_features, run_in_uml

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "tests" / "integration"
REPORT_ENV = "TEAMD_PY_KERNEL_REPORT"
_RESULTS = pytest.StashKey[dict[str, dict[str, str]]]()
_ERROR = pytest.StashKey[str]()


def _needs_guest() -> list[str]:
    if in_uml():
        return []
    reasons = missing_features()
    if os.geteuid() != 0:
        reasons.append("root")
    return reasons


def _is_kernel_test(item: pytest.Item) -> bool:
    """Everything under tests/integration, and anything marked `kernel`."""
    return item.get_closest_marker("kernel") is not None or INTEGRATION in item.path.parents


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    kernel_items = [i for i in items if _is_kernel_test(i)]
    if not kernel_items:
        return
    missing = _needs_guest()
    if not missing:
        return
    if os.geteuid() != 0:
        for i, item in enumerate(items):
            if item in kernel_items:
                items[i] = KernelStandIn.from_parent(
                    item.parent,
                    name=item.name,
                    target=item.nodeid,
                    error="kernel tests need root (to make network namespaces and to boot "
                    "User-Mode Linux with bonding and 802.1Q): run the tests as root",
                )
        return
    config.stash[_RESULTS] = {}
    targets = [i.nodeid for i in kernel_items]
    for i, item in enumerate(items):
        if item in kernel_items:
            items[i] = KernelStandIn.from_parent(
                item.parent, name=item.name, target=item.nodeid, targets=targets, missing=missing
            )


class KernelStandIn(pytest.Item):
    """Reports the outcome of a kernel test that ran inside the User-Mode Linux guest."""

    def __init__(
        self,
        *,
        target: str,
        targets: list[str] | None = None,
        missing: list[str] | None = None,
        error: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.targets = targets or []
        self.missing = missing or []
        self.error = error

    def runtest(self) -> None:
        if self.error:
            raise KernelTestFailed(self.error)
        results = self._results()
        result = results.get(self.target)
        if result is None:
            raise KernelTestFailed(
                f"{self.target} did not run inside User-Mode Linux:\n"
                f"{self.config.stash.get(_ERROR, '')}"
            )
        if result["outcome"] == "skipped":
            raise KernelTestFailed(
                f"skipped inside User-Mode Linux ({result['text']}); kernel tests must run"
            )
        if result["outcome"] != "passed":
            raise KernelTestFailed(f"failed inside User-Mode Linux:\n{result['text']}")

    def _results(self) -> dict[str, dict[str, str]]:
        results = self.config.stash[_RESULTS]
        if results or _ERROR in self.config.stash:
            return results
        # per run, on the host's filesystem (the guest's /tmp is its own): two runs never clash
        report = Path(tempfile.mkdtemp(prefix="teamd-py-report-", dir="/var/tmp")) / "report.json"
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *self.targets]
        env = {
            REPORT_ENV: str(report),
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": os.environ.get("HOME", "/root"),
        }
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"\nkernel lacks {', '.join(self.missing)}: running "
                f"{len(self.targets)} kernel tests under User-Mode Linux"
            )
        try:
            outcome = run_in_uml(argv, ROOT, env)
        except UmlUnavailable as exc:
            self.config.stash[_ERROR] = str(exc)
            shutil.rmtree(report.parent, ignore_errors=True)
            raise KernelTestFailed(str(exc)) from None
        self.config.stash[_ERROR] = f"exit {outcome.returncode}\n{outcome.output[-4000:]}"
        if reporter is not None:
            reporter.write_line(
                outcome.output.rstrip().splitlines()[-1]
                if outcome.output
                else "(no output from the guest)"
            )
        if report.exists():
            results.update(json.loads(report.read_text()))
        shutil.rmtree(report.parent, ignore_errors=True)
        return results

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: object = None
    ) -> str:
        if isinstance(excinfo.value, KernelTestFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.name} (kernel test)"


class KernelTestFailed(Exception):
    pass


_inner: dict[str, dict[str, str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Inside the guest: record each test's outcome for the stand-ins on the host."""
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    entry = _inner.setdefault(report.nodeid, {"outcome": "passed", "text": ""})
    if report.failed:
        entry["outcome"] = "failed"
        entry["text"] += f"[{report.when}] {report.longreprtext}\n"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"
        entry["text"] += report.longreprtext
    Path(path).write_text(json.dumps(_inner))
