"""The `teamd-py` command: one entry point for the daemon and the tools around it."""

from __future__ import annotations

import argparse
import logging
import sys

from teamd_py.config import DEFAULT_CONFIG_PATH, ConfigError, load_config

EXIT_INVALID = 2
EXIT_KERNEL = 1


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="config file (same as --config)")
    parser.add_argument("--config", "-c", dest="config", help=f"default {DEFAULT_CONFIG_PATH}")


def _config_path(args: argparse.Namespace) -> str:
    if args.path and args.config and args.path != args.config:
        raise SystemExit(
            f"teamd-py {args.command}: give the config file once, not both "
            f"{args.path!r} and --config {args.config!r}"
        )
    return args.path or args.config or DEFAULT_CONFIG_PATH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teamd-py", description="Adapter fault tolerance teams on a kernel bond."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the daemon in the foreground")
    _config_arguments(run)
    run.add_argument("--debug", action="store_true", help="log debug events too")
    check = sub.add_parser("check", help="validate a config file; change nothing")
    _config_arguments(check)
    sub.add_parser(
        "lab",
        help="build the seed's AFT team in a sandbox and play a failover scenario (needs root)",
    )
    return parser


def cmd_check(args: argparse.Namespace) -> int:
    path = _config_path(args)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_INVALID
    teams = ", ".join(
        f"{t.name} ({len(t.members)} members, {len(t.vlans)} VLANs)" for t in config.teams
    )
    print(f"{path}: OK: {teams}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    path = _config_path(args)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_INVALID

    import structlog
    import trio

    from teamd_py import log
    from teamd_py.daemon.service import run
    from teamd_py.kernel.netlink import NetlinkError
    from teamd_py.kernel.plan import TeamConflict

    log.configure(level=logging.DEBUG if args.debug else logging.INFO)
    logger = structlog.get_logger()
    try:
        trio.run(run, config)
    except TeamConflict as exc:
        for problem in exc.problems:
            logger.error("conflict", team=exc.team, problem=problem)
        print(f"teamd-py run: nothing was changed: {exc}", file=sys.stderr)
        return EXIT_KERNEL
    except NetlinkError as exc:
        print(
            f"teamd-py run: the kernel refused: {exc} (does it have bonding and 802.1Q? "
            "try: modprobe bonding 8021q)",
            file=sys.stderr,
        )
        return EXIT_KERNEL
    except PermissionError as exc:
        print(
            f"teamd-py run: {exc}: the daemon needs CAP_NET_ADMIN and CAP_NET_RAW", file=sys.stderr
        )
        return EXIT_KERNEL
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from teamd_py.lab.scenario import main as lab

    return lab()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"run": cmd_run, "check": cmd_check, "lab": cmd_lab}
    return handlers[args.command](args)
