"""Hostile input on the control socket: whatever a client sends, the server answers or hangs up,
and keeps serving the next client."""

from __future__ import annotations

import json
import tempfile
from functools import partial
from pathlib import Path

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamd_py.control.server import serve_control

from .test_control import FakeApi

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
lines = st.one_of(
    st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" ") + b"\n"),
    json_values.map(lambda v: json.dumps(v).encode() + b"\n"),
    st.dictionaries(
        st.sampled_from(["command", "team", "member", "force", "follow", "x"]),
        json_values,
        max_size=4,
    ).map(lambda d: json.dumps(d).encode() + b"\n"),
)


async def _exchange(path: str, payload: bytes) -> list[bytes]:
    stream = await trio.open_unix_socket(path)
    async with stream:
        await stream.send_all(payload)
        await stream.send_eof()
        received = b""
        with trio.move_on_after(5):
            while chunk := await stream.receive_some():
                received += chunk
    return received.splitlines()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, min_size=1, max_size=5))
def test_any_request_lines_get_json_answers_and_the_server_survives(requests: list[bytes]):
    async def main() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "control.sock")
            async with trio.open_nursery() as nursery:
                await nursery.start(partial(serve_control, path, FakeApi()))
                with trio.fail_after(20):
                    answers = await _exchange(path, b"".join(requests))
                    for answer in answers:
                        reply = json.loads(answer)
                        assert reply.get("ok") in (True, False)
                        if reply["ok"] is False:
                            assert set(reply["error"]) == {"code", "message"}
                    state = await _exchange(path, b'{"command": "state"}\n')
                    assert json.loads(state[0])["ok"] is True  # still serving
                nursery.cancel_scope.cancel()

    trio.run(main)
