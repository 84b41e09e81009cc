"""The `teamd-py` command: one entry point for the daemon and the tools around it."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from teamd_py.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from teamd_py.control.protocol import DEFAULT_SOCKET_PATH
from teamd_py.importers.command import add_import_parser, cmd_import

EXIT_INVALID = 2
EXIT_KERNEL = 1
EXIT_CONTROL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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
    lab = sub.add_parser(
        "lab",
        help="build the seed's AFT team in a sandbox and play a failover scenario (needs root)",
        description="Without an action: the scripted scenario. With --interactive the lab stays "
        "up; then, from another terminal: lab fail MEMBER [--silent], lab heal MEMBER, "
        "lab state [--json], lab stop.",
    )
    lab.add_argument("action", nargs="?", choices=["fail", "heal", "state", "stop"])
    lab.add_argument("member", nargs="?", help="eth0 or eth1, for fail and heal")
    lab.add_argument("--interactive", action="store_true", help="keep the lab up for commands")
    lab.add_argument(
        "--silent", action="store_true", help="fail: cut the switch port, carrier stays up"
    )
    lab.add_argument("--json", action="store_true", help="state: as JSON")
    lab.add_argument(
        "--dir", help="where lab commands are exchanged (default /var/tmp/teamd-py-lab)"
    )
    lab.add_argument(
        "--config",
        help="the scenario on this config (default: the seed's "
        "example with ARP probes), e.g. one from 'teamd-py import ianscfg'",
    )
    _control_subcommands(sub)
    add_import_parser(sub)
    return parser


def _control_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands that talk to a running daemon over its control socket."""
    state = sub.add_parser("state", help="show the teams, their members and paths")
    state.add_argument("team", nargs="?", help="only this team")
    state.add_argument("--json", action="store_true", help="print the state document as JSON")
    switch = sub.add_parser(
        "switch",
        help="pin a member as active, or (--auto) give the choice back to the daemon",
        description="Pin MEMBER as the active member of TEAM until released with --auto.",
    )
    switch.add_argument("team", metavar="TEAM")
    switch.add_argument("member", metavar="MEMBER", nargs="?", help="the member to pin")
    switch.add_argument("--force", action="store_true", help="pin it even if it is not healthy")
    switch.add_argument("--auto", action="store_true", help="release the pin: automatic choice")
    events = sub.add_parser(
        "events", help="print the recent events, one JSON object per line (sorted keys)"
    )
    events.add_argument(
        "--follow", "-f", action="store_true", help="print new events as they come, until stopped"
    )
    reload = sub.add_parser("reload", help="make the daemon re-read its config file")
    metrics = sub.add_parser("metrics", help="print the daemon's metrics (Prometheus text)")
    for parser in (state, switch, events, reload, metrics):
        parser.add_argument(
            "--socket",
            default=DEFAULT_SOCKET_PATH,
            metavar="PATH",
            help=f"the daemon's control socket (default {DEFAULT_SOCKET_PATH})",
        )


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
    from pathlib import Path

    from teamd_py.lab import interactive
    from teamd_py.lab.scenario import main as lab

    directory = Path(args.dir) if args.dir else interactive.LAB_DIR
    if args.action is None:
        config = Path(args.config) if args.config else None
        return lab(interactive=args.interactive, directory=directory, config=config)
    if args.action in ("fail", "heal") and not args.member:
        print(f"teamd-py lab {args.action}: name the member (eth0 or eth1)", file=sys.stderr)
        return EXIT_INVALID
    request = {
        "command": args.action,
        "member": args.member,
        "silent": args.silent,
        "json": args.json,
    }
    return interactive.send(request, directory)


def _client_command(
    handler: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Turn the daemon's refusals (and an absent daemon) into `teamd-py CMD: ...` lines."""

    def command(args: argparse.Namespace) -> int:
        from teamd_py.control.api import ControlError

        try:
            return handler(args)
        except ControlError as exc:
            for line in exc.message.splitlines() or [exc.code]:
                print(f"teamd-py {args.command}: {line}", file=sys.stderr)
            return EXIT_CONTROL
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED

    return command


def _ask(args: argparse.Namespace, payload: dict[str, Any]) -> Any:
    import trio

    from teamd_py.control.client import request

    return trio.run(request, args.socket, payload)


def cmd_state(args: argparse.Namespace) -> int:
    from teamd_py.control.render import render_state

    state = _ask(args, {"command": "state", "team": args.team})
    print(json.dumps(state, indent=2) if args.json else render_state(state))
    return 0


def cmd_switch(args: argparse.Namespace) -> int:
    from teamd_py.control.render import render_switch

    if bool(args.member) == args.auto:
        print("teamd-py switch: give either a MEMBER to pin or --auto", file=sys.stderr)
        return EXIT_USAGE
    if args.force and args.auto:
        print("teamd-py switch: --force goes with a MEMBER, not with --auto", file=sys.stderr)
        return EXIT_USAGE
    payload = {"command": "switch", "team": args.team, "member": args.member, "force": args.force}
    print(render_switch(_ask(args, payload)))
    return 0


async def _print_events(path: str) -> None:
    from contextlib import aclosing

    from teamd_py.control.api import ControlError
    from teamd_py.control.client import follow
    from teamd_py.control.render import render_event

    async with aclosing(follow(path, {"command": "events", "follow": True})) as events:
        async for event in events:
            print(render_event(event), flush=True)
    raise ControlError("disconnected", f"the daemon at {path} closed the connection (stopped?)")


def cmd_events(args: argparse.Namespace) -> int:
    from teamd_py.control.render import render_event

    if args.follow:
        import trio

        trio.run(_print_events, args.socket)
        return 0
    for event in _ask(args, {"command": "events"}):
        print(render_event(event))
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    from teamd_py.control.render import render_reload

    print(render_reload(_ask(args, {"command": "reload"})))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    text = str(_ask(args, {"command": "metrics"}))
    sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "run": cmd_run,
        "check": cmd_check,
        "lab": cmd_lab,
        "state": _client_command(cmd_state),
        "switch": _client_command(cmd_switch),
        "events": _client_command(cmd_events),
        "reload": _client_command(cmd_reload),
        "metrics": _client_command(cmd_metrics),
        "import": cmd_import,
    }
    return handlers[args.command](args)
