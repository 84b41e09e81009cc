"""`teamd-py import ianscfg|teamd FILE [-o OUT] [--force]`: the importers on the command line.

The TOML goes to stdout (or OUT), everything about it to stderr, so `teamd-py import ... >
config.toml` keeps the file clean. An existing OUT is never replaced without --force: an
import is a first draft, and overwriting a config someone has edited since would lose work.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from teamd_py.importers import IMPORTERS, ImporterError, import_file

EXIT_UNUSABLE = 2  # the input cannot become a config, or OUT exists
EXIT_WRITE = 1  # OUT could not be written

_FORMATS = {
    "ianscfg": "an Intel ANS setup script (ianscfg and ifconfig lines)",
    "teamd": "a teamd JSON config with the activebackup runner",
}


def add_import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import",
        help="turn an ianscfg script or a teamd config into a teamd-py config",
        description="Write the teamd-py config equivalent to FILE; what does not map is listed "
        "on stderr and as comments in the output.",
    )
    kinds = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")
    for kind in IMPORTERS:
        one = kinds.add_parser(kind, help=_FORMATS[kind])
        one.add_argument("file", metavar="FILE")
        one.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
        one.add_argument("--force", action="store_true", help="replace OUT if it exists")


def _write(path: str, text: str, force: bool) -> None:
    """Write ``text`` to ``path``: refuse an existing file unless ``force``, never half-written."""
    if not force:
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".import-", suffix=".toml", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def cmd_import(args: argparse.Namespace) -> int:
    out: str | None = args.output
    if out is not None and not args.force and os.path.lexists(out):
        print(f"teamd-py import: {out} exists; give --force to replace it", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        result = import_file(args.format, args.file)
    except ImporterError as exc:
        for line in exc.warnings:
            print(line, file=sys.stderr)
        print(exc, file=sys.stderr)
        return EXIT_UNUSABLE
    for line in result.warnings:
        print(line, file=sys.stderr)
    if out is None:
        sys.stdout.write(result.text)
    else:
        try:
            _write(out, result.text, args.force)
        except FileExistsError:
            print(f"teamd-py import: {out} exists; give --force to replace it", file=sys.stderr)
            return EXIT_UNUSABLE
        except OSError as exc:
            print(f"teamd-py import: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_WRITE
        teams = ", ".join(
            f"{t.name} ({len(t.members)} members, {len(t.vlans)} VLANs)"
            for t in result.config.teams
        )
        print(f"teamd-py import: wrote {out}: {teams}", file=sys.stderr)
    if result.summary:
        print(result.summary, file=sys.stderr)
    return 0
