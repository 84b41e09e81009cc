"""Importers: configs of the tools teamd-py replaces (Intel ANS `ianscfg`, teamd) as TOML.

Each importer returns the generated document together with the model it loads as, so a
result is known to pass `teamd-py check`, and the lines of what did not map, so nothing is
dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from teamd_py.importers.common import ImporterError, ImportResult, Unmapped
from teamd_py.importers.ianscfg import import_ianscfg
from teamd_py.importers.teamd import import_teamd

IMPORTERS: dict[str, Callable[[str, str], ImportResult]] = {
    "ianscfg": import_ianscfg,
    "teamd": import_teamd,
}


def import_file(kind: str, path: str | os.PathLike[str]) -> ImportResult:
    """Read ``path`` and import it with the ``kind`` importer; ImporterError if unusable."""
    source = os.fsdecode(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ImporterError(source, f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImporterError(source, f"not UTF-8 text ({exc.reason})", line=line) from exc
    return IMPORTERS[kind](text.removeprefix("\ufeff"), source)


__all__ = [
    "IMPORTERS",
    "ImportResult",
    "ImporterError",
    "Unmapped",
    "import_file",
    "import_ianscfg",
    "import_teamd",
]
