"""The client side of the control protocol, for the `teamd-py` subcommands and for scripts.

Every failure comes out as a ControlError: the daemon's own errors with their codes, and the
client's: unreachable (no socket, nobody listening), forbidden (no permission on the socket
file), timeout, disconnected, bad_response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import trio

from teamd_py.control.api import ControlError
from teamd_py.control.protocol import LineReader, LineTooLong, encode

# Responses are not small-bounded like requests: a state or metrics dump grows with the teams.
MAX_RESPONSE = 64 * 1024 * 1024


async def _connect(path: str) -> trio.SocketStream:
    try:
        return await trio.open_unix_socket(path)
    except PermissionError:
        raise ControlError(
            "forbidden",
            f"cannot connect to {path}: permission denied (root and the daemon's control group "
            "may)",
        ) from None
    except OSError as exc:
        raise ControlError(
            "unreachable",
            f"cannot reach the daemon at {path}: {exc.strerror or exc} (is teamd-py running?)",
        ) from None


def _decode(line: bytes | None, path: str) -> dict[str, Any]:
    if line is None:
        raise ControlError("disconnected", f"the daemon at {path} closed the connection")
    try:
        message = json.loads(line)
    except ValueError:
        raise ControlError(
            "bad_response", f"the daemon at {path} sent a line that is not JSON"
        ) from None
    if not isinstance(message, dict):
        raise ControlError("bad_response", f"the daemon at {path} sent {message!r:.200}")
    return message


def _result(message: dict[str, Any], path: str) -> Any:
    if message.get("ok") is True:
        return message.get("result")
    problem = message.get("error")
    if message.get("ok") is False and isinstance(problem, dict):
        raise ControlError(str(problem.get("code")), str(problem.get("message")))
    raise ControlError("bad_response", f"the daemon at {path} sent {message!r:.200}")


async def _opened(
    path: str, payload: dict[str, Any], timeout: float
) -> tuple[trio.SocketStream, LineReader, Any]:
    """Connect, send one request and read its result, all within `timeout`."""
    try:
        with trio.fail_after(timeout):
            stream = await _connect(path)
            reader = LineReader(stream, MAX_RESPONSE)
            try:
                await stream.send_all(encode(payload))
                result = _result(_decode(await reader.next_line(), path), path)
            except BaseException:
                await trio.aclose_forcefully(stream)
                raise
    except trio.TooSlowError:
        message = f"no answer from the daemon at {path} within {timeout:g} s"
        raise ControlError("timeout", message) from None
    except trio.BrokenResourceError:
        message = f"the daemon at {path} closed the connection"
        raise ControlError("disconnected", message) from None
    except LineTooLong:
        message = f"the daemon at {path} sent too long a line"
        raise ControlError("bad_response", message) from None
    return stream, reader, result


async def request(path: str, payload: dict[str, Any], timeout: float = 10) -> Any:
    """Send one request and return its result; raises ControlError."""
    stream, _, result = await _opened(path, payload, timeout)
    await stream.aclose()
    return result


async def follow(path: str, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """The events of an `events` request with "follow": true, until the daemon hangs up.

    It connects at the first iteration, not when called. Use it under `contextlib.aclosing`,
    so the connection is closed as soon as the caller stops iterating.
    """
    stream, reader, result = await _opened(path, payload, timeout=10)
    async with stream:
        if result != "following":
            raise ControlError("bad_response", f"the daemon at {path} answered {result!r:.200}")
        while True:
            try:
                line = await reader.next_line()
            except (trio.BrokenResourceError, LineTooLong):
                line = None
            if line is None:
                return
            message = _decode(line, path)
            event = message.get("event")
            if not isinstance(event, dict):
                raise ControlError("bad_response", f"the daemon at {path} sent {message!r:.200}")
            yield event
