# Sourced by ./lab and tests/run: install what the project needs on a Debian-like machine and
# create .venv with the package and its test tools. Run from the repository root.

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v modprobe >/dev/null || need+=(kmod)
command -v systemd-analyze >/dev/null || need+=(systemd)  # the unit file is verified in the tests
if [ ! -e /sys/class/net/bonding_masters ] || [ ! -e /proc/net/vlan ]; then
    command -v linux.uml >/dev/null || need+=(user-mode-linux)
    command -v cc >/dev/null || need+=(gcc libc6-dev)  # UML's FPU preload, see sandbox/uml.py
fi
if ((${#need[@]})); then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "install ${need[*]} first (as root: apt-get install ${need[*]})" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
