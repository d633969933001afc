"""Calls and casts between functions for the Python bridge (docs/runtime-protocol.md, "Calls", "Casts").

`ctx.call(name, body=None, method=None, path="/", headers=None)` sends a CALL frame under a call id
of the bridge's own (apart from the platform's INVOKE wire ids) and waits for REPLY or FAIL. From a
sync handler (which runs in a worker thread) it blocks that thread until the answer comes; the loop
keeps reading frames meanwhile. From an async handler (on the loop thread) it returns an awaitable:
`await ctx.call(...)`. A refusal of the platform raises CallError with a SKIFF_E_* `code`.
STATE frames (skiff_state.py) go out through `send` and `run` under the same counter: one id space.

`ctx.cast(name, body=None, delay_ms=None, method=None, path="/", headers=None)` sends a CAST frame in
the same call id space and returns the queued invocation's id (None when a workflow alias maps to no
target) once it is on disk; sync and async handlers alike, as for `ctx.call`.
"""

import asyncio
import concurrent.futures
import json
import math
import os
import threading

import skiff_frames as F
from skiff import CallError, CallResponse

# The platform reads frames from this bridge up to its response limit (plus the meta): a larger CALL
# would end the instance, so it is refused here.
MAX_BODY_BYTES = int(os.environ.get("SKIFF_MAX_RESPONSE_BYTES") or 6 * 1024 * 1024)
MAX_META_BYTES = 1024 * 1024


def _encode(body, headers):
    """(bytes, header pairs) for a call's body: bytes as they are, str as UTF-8, else JSON."""
    pairs = []
    if isinstance(headers, dict):
        for key, value in headers.items():
            for one in value if isinstance(value, (list, tuple)) else [value]:
                pairs.append([str(key), str(one)])
    elif headers:
        pairs = [[str(k), str(v)] for k, v in headers]
    names = {k.lower() for k, _ in pairs}
    if body is None:
        return b"", pairs
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), pairs
    if isinstance(body, str):
        return body.encode("utf-8"), pairs
    if "content-type" not in names:
        pairs.append(["content-type", "application/json"])
    return json.dumps(body, separators=(",", ":")).encode("utf-8"), pairs


class Calls:
    """The calls in flight of one bridge; every method but `call` runs on the loop thread."""

    def __init__(self, loop, sender):
        self._loop = loop
        self._sender = sender
        self._loop_thread = threading.get_ident()
        self._next_id = 1
        self._waiting = {}

    def on_reply(self, call_id, meta, body):
        future = self._waiting.pop(call_id, None)
        if future is not None and not future.done():
            future.set_result(CallResponse(meta.get("status", 0), meta.get("headers") or [], body))

    def on_fail(self, call_id, meta):
        future = self._waiting.pop(call_id, None)
        if future is not None and not future.done():
            future.set_exception(CallError(str(meta.get("code", "")), str(meta.get("message", ""))))

    async def _send(self, meta, body, kind=F.CALL):
        if len(body) > MAX_BODY_BYTES:
            message = "the call's body of %d bytes is larger than the limit of %d bytes" % (len(body), MAX_BODY_BYTES)
            raise CallError("SKIFF_E_PAYLOAD_TOO_LARGE", message)
        if len(json.dumps(meta)) > MAX_META_BYTES:
            raise CallError("SKIFF_E_PAYLOAD_TOO_LARGE", "the call's headers are larger than the meta limit")
        call_id = self._next_id
        self._next_id = 1 if self._next_id >= 0xFFFFFFFF else self._next_id + 1
        future = self._loop.create_future()
        try:
            self._sender.send(kind, call_id, meta, body)
        except ValueError as err:  # over the frame size
            raise CallError("SKIFF_E_PAYLOAD_TOO_LARGE", str(err)) from None
        self._waiting[call_id] = future
        try:
            return await future
        finally:
            self._waiting.pop(call_id, None)

    def call(self, ctx, name, body=None, method=None, path="/", headers=None):
        data, pairs = _encode(body, headers)
        meta = {
            "invocationId": ctx.invocation_id,
            "function": str(name),
            "method": str(method or ("GET" if body is None else "POST")),
            "path": str(path or "/"),
            "headers": pairs,
        }
        return self.run(ctx, self._send(meta, data))

    def cast(self, ctx, name, body=None, delay_ms=None, method=None, path="/", headers=None):
        data, pairs = _encode(body, headers)
        meta = {
            "invocationId": ctx.invocation_id,
            "function": str(name),
            "method": str(method or "POST"),
            "path": str(path or "/"),
            "headers": pairs,
        }
        if delay_ms is not None:
            # anything else would break the CAST's schema (NaN is not even JSON), which ends the instance
            if isinstance(delay_ms, bool) or not isinstance(delay_ms, (int, float)) or not math.isfinite(delay_ms):
                raise CallError("SKIFF_E_INVALID_REQUEST", "delay_ms must be a number of milliseconds, not %r" % (delay_ms,))
            meta["delayMs"] = delay_ms
        return self.run(ctx, self._cast(meta, data))

    async def _cast(self, meta, data):
        reply = await self._send(meta, data, F.CAST)
        try:
            ids = json.loads(reply.body.decode("utf-8")).get("ids")
        except (ValueError, AttributeError):
            ids = None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise CallError("SKIFF_E_PROTOCOL", "the platform answered a cast without the ids it queued")
        return ids[0] if ids else None

    def send(self, kind, meta, body):
        """A coroutine sending a frame of `kind` under the next call id: its REPLY as a CallResponse."""
        return self._send(meta, body, kind)

    def run(self, ctx, coroutine):
        """An async handler (on the loop thread) gets `coroutine` to await; a sync one its result."""
        if threading.get_ident() == self._loop_thread:
            return coroutine  # an async handler awaits it
        # a sync handler in a worker thread: block it (not the loop) until the answer
        waiting = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        limit = max(1.0, ctx.remaining_ms() / 1000.0 + 5.0)
        try:
            return waiting.result(timeout=limit)
        except concurrent.futures.TimeoutError:
            waiting.cancel()
            raise CallError("SKIFF_E_TIMEOUT", "no answer to the call before the deadline") from None
