"""The control protocol: how `teamd-py state`, `switch`, `events`... talk to the daemon.

Transport: an AF_UNIX stream socket, by default /run/teamd-py/control.sock. Each direction carries
one JSON object per line: UTF-8, terminated by "\\n". A connection may carry several requests;
they are answered one at a time, in order.

Request: `{"command": "<name>", ...arguments}`. An argument that is absent or null takes its
default; any other field is an error.

    state    team: string (default: every team)
    switch   team: string (required); member: string (default null: back to automatic choice);
             force: bool (default false: refuse a member that is not healthy)
    reload   (no arguments)
    metrics  (no arguments)
    events   follow: bool (default false)

Response: `{"ok": true, "result": <value>}` or
`{"ok": false, "error": {"code": "<code>", "message": "<text for people>"}}`.

    state    the state document described in teamd_py/control/api.py
    switch   {"team": ..., "active": ..., "override": null | {"member": ..., "forced": bool}}
    reload   {"changed": [team names]}
    metrics  the Prometheus text exposition, as one JSON string
    events   the recent events, oldest first, as a list of objects. With "follow": true the
             result is "following", then one line `{"event": {...}}` per event from then on,
             until the client disconnects; when the daemon stops, the server closes the
             connection. Nothing more is read from a following connection.

Error codes are stable; messages are not:

    bad_json         the line is not JSON (or not UTF-8)
    bad_request      not an object, a missing or wrongly typed field, an unknown field
    unknown_command  "command" names no command
    too_large        a request line over 64 KiB; the server then closes the connection
    timeout          no complete request line within 10 s; the server then closes it
    busy             64 connections are open already; the server closes this one
    forbidden        `switch` and `reload` need root or the daemon's control group
    internal         the daemon failed unexpectedly; details are in its log
    unknown_team, unknown_member, unhealthy, refused, invalid_config: from the daemon itself

Except after too_large, timeout and busy, the connection stays open for the next request. A
client that leaves a response unread for 5 s (its socket buffer full) is disconnected. A last
request without its newline, before the client shuts down its side, is still answered.

Access: the socket file is the first gate. It has mode 0660, group root or the control group when
one is configured, and a directory the daemon creates for it gets mode 0750 and the same group;
so in production only root and that group can connect at all. Among those who can connect,
`state`, `metrics` and `events` are open to everyone; `switch` and `reload` need uid 0 or
membership of the control group (primary or supplementary), as the kernel reports the peer
with SO_PEERCRED.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import trio

DEFAULT_SOCKET_PATH = "/run/teamd-py/control.sock"
RECEIVE_CHUNK = 65536

PRIVILEGED = frozenset({"switch", "reload"})


@dataclass(frozen=True)
class Field:
    """One request argument: its JSON type, and whether it may be left out."""

    kind: type
    required: bool = False
    default: Any = None


COMMANDS: dict[str, dict[str, Field]] = {
    "state": {"team": Field(str)},
    "switch": {
        "team": Field(str, required=True),
        "member": Field(str),
        "force": Field(bool, default=False),
    },
    "reload": {},
    "metrics": {},
    "events": {"follow": Field(bool, default=False)},
}

_JSON_TYPE_NAMES = {str: "a string", bool: "true or false"}


@dataclass(frozen=True)
class Request:
    """A validated request, every argument present (defaults filled in)."""

    command: str
    args: dict[str, Any]

    @property
    def follows(self) -> bool:
        return self.command == "events" and bool(self.args["follow"])


class ProtocolError(Exception):
    """A request the server answers with an error of its own, before the daemon sees it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LineTooLong(Exception):
    """The peer sent more than the line limit without a newline."""


def parse_request(line: bytes) -> Request:
    """Decode and validate one request line; ProtocolError says what is wrong with it."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("bad_json", f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("bad_request", "a request is a JSON object")
    command = message.get("command")
    if not isinstance(command, str):
        raise ProtocolError("bad_request", '"command" must be a string')
    fields = COMMANDS.get(command)
    if fields is None:
        known = ", ".join(COMMANDS)
        raise ProtocolError("unknown_command", f"unknown command {command!r} (known: {known})")
    unknown = sorted(set(message) - set(fields) - {"command"})
    if unknown:
        raise ProtocolError("bad_request", f"{command}: unknown field {unknown[0]!r}")
    return Request(
        command, {name: _argument(command, name, f, message) for name, f in fields.items()}
    )


def _argument(command: str, name: str, field: Field, message: dict[str, Any]) -> Any:
    value = message.get(name)
    if value is None:
        if field.required:
            raise ProtocolError("bad_request", f"{command}: {name!r} is required")
        return field.default
    # bool is an int in Python, and JSON true must not pass for a string nor 1 for true.
    if type(value) is not field.kind:
        raise ProtocolError(
            "bad_request", f"{command}: {name!r} must be {_JSON_TYPE_NAMES[field.kind]}"
        )
    return value


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def encode(message: Any) -> bytes:
    """One protocol line; raises TypeError/ValueError for what JSON cannot carry."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def encode_event(event: dict[str, Any]) -> bytes:
    """An event line; events are log records, so odd values are sent as their string form."""
    text = json.dumps({"event": event}, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.encode() + b"\n"


class LineReader:
    """Splits a byte stream into lines, never buffering more than `max_line` bytes of one."""

    def __init__(self, stream: trio.abc.ReceiveStream, max_line: int) -> None:
        self._stream = stream
        self._max_line = max_line
        self._buffer = bytearray()
        self._scanned = 0

    async def next_line(self) -> bytes | None:
        """The next line without its newline; None at end of stream.

        A last line without a newline still counts, so `printf '{...}' | nc -U` works.
        """
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                if end > self._max_line:
                    raise LineTooLong
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self._scanned = 0
                return line
            self._scanned = len(self._buffer)
            if self._scanned > self._max_line:
                raise LineTooLong
            data = await self._stream.receive_some(RECEIVE_CHUNK)
            if not data:
                line = bytes(self._buffer) or None
                self._buffer.clear()
                self._scanned = 0
                return line
            self._buffer += data
