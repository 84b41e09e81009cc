"""A full kernel on demand: run a command under User-Mode Linux when this one lacks what we need.

Some kernels (containers, minimal VMs) have no bonding or 802.1Q and cannot load modules. UML is a
complete Linux kernel that runs as an ordinary process and boots in about a second, with the host's
filesystem as its root. The command runs there as PID 1's child in a bare system: this module
writes the init script that mounts what is needed, loads the modules, runs the command with its
output in a file on the host, records its exit status, and powers off.

Results come back through a run directory under /var/tmp, which stays on the host filesystem (the
guest mounts its own tmpfs over /tmp and /run).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

UML_KERNEL = "linux.uml"
UML_MODULES = Path("/usr/lib/uml/modules")
MODULES = ("bonding", "8021q", "veth", "bridge", "ipv6", "dummy")
INSTALL_HINT = "install it with: apt-get install user-mode-linux kmod iproute2"
IN_UML_ENV = "TEAMD_PY_IN_UML"
FEATURE_FILES = {"bonding": Path("/sys/class/net/bonding_masters"), "8021q": Path("/proc/net/vlan")}
XSTATE_SHIM = Path(__file__).with_name("uml_xstate.c")
SHIM_HINT = "install a C compiler with: apt-get install gcc libc6-dev"


class UmlUnavailable(RuntimeError):
    """User-Mode Linux is needed but cannot run here."""


def missing_features() -> list[str]:
    """Kernel features the daemon needs that this kernel lacks, after trying to load them."""
    missing = [name for name, path in FEATURE_FILES.items() if not path.exists()]
    if missing and shutil.which("modprobe"):
        for name in missing:
            subprocess.run(["modprobe", "-q", name], check=False, capture_output=True)
        missing = [name for name, path in FEATURE_FILES.items() if not path.exists()]
    return missing


def in_uml() -> bool:
    return os.environ.get(IN_UML_ENV) == "1"


@dataclass(frozen=True)
class UmlResult:
    returncode: int
    output: str
    console: str


def _check_available() -> str:
    kernel = shutil.which(UML_KERNEL)
    if kernel is None:
        raise UmlUnavailable(
            f"this kernel lacks bonding/802.1Q and {UML_KERNEL} is missing: {INSTALL_HINT}"
        )
    if not UML_MODULES.is_dir() or not any(UML_MODULES.iterdir()):
        raise UmlUnavailable(f"no UML kernel modules under {UML_MODULES}: {INSTALL_HINT}")
    if shutil.which("modprobe") is None:
        raise UmlUnavailable(f"modprobe is missing: {INSTALL_HINT}")
    return kernel


def xstate_shim() -> Path | None:
    """The preload that lets UML 6.1 restore FPU state on hosts with AVX-512 or AMX (see the C
    source for why); built once per source version under /var/tmp. None off x86-64."""
    if platform.machine() != "x86_64":
        return None
    source = XSTATE_SHIM.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    shim = Path(f"/var/tmp/teamd-py-uml-xstate-{digest}.so")
    if shim.exists():
        return shim
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise UmlUnavailable(f"User-Mode Linux needs a small preload built here: {SHIM_HINT}")
    partial = shim.with_suffix(f".{os.getpid()}.tmp")
    proc = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-o", str(partial), str(XSTATE_SHIM), "-ldl"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise UmlUnavailable(f"building the UML preload failed ({SHIM_HINT}):\n{proc.stderr}")
    partial.replace(shim)
    return shim


def _exposed(paths: list[Path]) -> str:
    """Mounts that show host paths the guest's own /tmp and /run would hide (a checkout in /tmp)."""
    lines = []
    for path in sorted({p.resolve() for p in paths}):
        if path.is_relative_to("/tmp") or path.is_relative_to("/run"):
            quoted = shlex.quote(str(path))
            lines.append(f"mkdir -p {quoted} && mount -t hostfs -o {quoted} hostfs {quoted}")
    return "\n".join(lines)


def _init_script(
    run_dir: Path, argv: list[str], cwd: Path, env: dict[str, str], stream: bool
) -> str:
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    exposed = _exposed([cwd, Path(sys.prefix), Path(argv[0]).parent])
    loads = " ".join(MODULES)
    output, rc = shlex.quote(str(run_dir / "output")), shlex.quote(str(run_dir / "rc"))
    if stream:  # to the second console (the host's stdout) as it comes, and to the file
        run = (
            f"{{ {shlex.join(argv)} < /dev/null; echo $? > {rc}; }} 2>&1 | tee {output} > /dev/tty1"
        )
    else:
        run = f"{shlex.join(argv)} > {output} 2>&1 < /dev/null\necho $? > {rc}"
    return f"""#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /tmp/modroot/lib/modules /run/netns
{exposed}
mount -t hostfs -o {UML_MODULES} hostfs /tmp/modroot/lib/modules
for m in {loads}; do modprobe -d /tmp/modroot "$m" || echo "module $m did not load"; done
ip link set lo up
{exports}
export {IN_UML_ENV}=1
cd {shlex.quote(str(cwd))}
{run}
sync
poweroff -f
"""


def run_in_uml(
    argv: list[str],
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    timeout: float = 1800,
    mem: str = "1G",
    stream: bool = False,
) -> UmlResult:
    """Boot UML, run `argv` in `cwd` as root, and return its exit status and output.

    With `stream`, the output also appears on this process's stdout while the command runs.
    """
    kernel = _check_available()
    run_dir = Path(tempfile.mkdtemp(prefix="teamd-py-uml-", dir="/var/tmp"))
    try:
        init = run_dir / "init.sh"
        init.write_text(_init_script(run_dir, argv, Path(cwd).resolve(), env or {}, stream))
        init.chmod(0o755)
        cmd = [
            kernel,
            f"mem={mem}",
            "rootfstype=hostfs",
            "rw",
            f"init={init}",
            "quiet",
            "con=null",
            # the kernel's own console goes to stderr (kept for diagnosis); with `stream` the
            # command's output has a console of its own on stdout
            "con0=null,fd:2",
            "con1=null,fd:1",
        ]
        shim = xstate_shim()
        host_env = {**os.environ, "LD_PRELOAD": str(shim)} if shim is not None else None
        try:
            proc = subprocess.run(
                cmd,
                env=host_env,
                stdin=subprocess.DEVNULL,
                stdout=None if stream else subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise UmlUnavailable(f"User-Mode Linux did not finish within {timeout:.0f} s") from exc
        console = (proc.stdout or b"").decode(errors="replace")
        console += proc.stderr.decode(errors="replace")
        rc_file = run_dir / "rc"
        if not rc_file.exists():
            raise UmlUnavailable(f"the command never finished inside User-Mode Linux:\n{console}")
        output = (run_dir / "output").read_text(errors="replace")
        return UmlResult(int(rc_file.read_text().strip() or 255), output, console)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
