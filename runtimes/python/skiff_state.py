"""`ctx.state` for the Python bridge (docs/runtime-protocol.md, "State"; docs/composition.md, "State").

The function's own key-value state through the platform: STATE frames under call ids of the CALL
counter (skiff_calls.py), answered by REPLY or FAIL. Like ctx.call, every method blocks a sync handler
(which runs in a worker thread) until the answer and returns an awaitable to an async handler.

Values: bytes / bytearray / memoryview are stored as bytes (application/octet-stream) and read back as
bytes; anything else is stored as JSON (application/json) and read back parsed. A refusal raises
skiff.StateError with a SKIFF_E_* `code` (SKIFF_E_STATE_CONFLICT when `if_version` does not hold).
"""

import json

import skiff_frames as F
from skiff import CallError, StateError
from skiff_calls import MAX_BODY_BYTES

JSON_TYPE = "application/json"
OCTETS = "application/octet-stream"


class StateEntry:
    """What `ctx.state.get` returns: `value` (parsed JSON, or bytes), `version`, `content_type`."""

    __slots__ = ("value", "version", "content_type")

    def __init__(self, value, version, content_type):
        self.value = value
        self.version = version
        self.content_type = content_type

    def __repr__(self):
        return "StateEntry(version=%r, content_type=%r)" % (self.version, self.content_type)


def _header(reply, name):
    return reply.headers.get(name)


def _encode(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), OCTETS
    return json.dumps(value, separators=(",", ":")).encode("utf-8"), JSON_TYPE


class State:
    """`ctx.state` of one invocation."""

    def __init__(self, ctx, calls):
        self._ctx = ctx
        self._calls = calls

    async def _op(self, op, body=b""):
        meta = {"invocationId": self._ctx.invocation_id}
        meta.update(op)
        try:
            return await self._calls.send(F.STATE, meta, body)
        except CallError as err:
            raise StateError(err.code, err.message) from None

    def _run(self, coroutine):
        try:
            return self._calls.run(self._ctx, coroutine)
        except CallError as err:  # a sync handler's wait ran past the deadline
            raise StateError(err.code, err.message) from None

    async def _get(self, key):
        try:
            reply = await self._op({"op": "get", "key": str(key)})
        except StateError as err:
            if err.code == "SKIFF_E_STATE_NOT_FOUND":
                return None
            raise
        content_type = _header(reply, "content-type") or OCTETS
        is_json = content_type.split(";")[0].strip() == JSON_TYPE
        value = json.loads(reply.body.decode("utf-8")) if is_json else reply.body
        return StateEntry(value, int(_header(reply, "x-skiff-state-version") or 0), content_type)

    async def _set(self, key, value, if_version):
        data, content_type = _encode(value)
        if len(data) > MAX_BODY_BYTES:
            message = "the value is %d bytes, more than a frame of this instance may carry (%d bytes)"
            raise StateError("SKIFF_E_STATE_TOO_LARGE", message % (len(data), MAX_BODY_BYTES))
        op = {"op": "set", "key": str(key), "contentType": content_type}
        if if_version is not None:
            op["ifVersion"] = int(if_version)
        reply = await self._op(op, data)
        return int(_header(reply, "x-skiff-state-version") or 0)

    async def _delete(self, key, if_version):
        op = {"op": "delete", "key": str(key)}
        if if_version is not None:
            op["ifVersion"] = int(if_version)
        reply = await self._op(op)
        return bool(reply.json().get("deleted"))

    async def _list(self, prefix):
        keys, after = [], None
        while True:
            op = {"op": "list"}
            if prefix is not None:
                op["prefix"] = str(prefix)
            if after is not None:
                op["key"] = after
            page = (await self._op(op)).json()
            keys.extend(page.get("keys") or [])
            after = page.get("next")
            if after is None:
                return keys

    def get(self, key):
        """The StateEntry under `key`, or None when there is none."""
        return self._run(self._get(key))

    def set(self, key, value, if_version=None):
        """Stores `value` under `key` (only if the key is at `if_version`; 0: only if new): the new version."""
        return self._run(self._set(key, value, if_version))

    def delete(self, key, if_version=None):
        """Deletes `key` (only if it is at `if_version`): True if it was there."""
        return self._run(self._delete(key, if_version))

    def list(self, prefix=None):
        """Every key starting with `prefix`, in key order: dicts of key, version, size, contentType, updatedAt."""
        return self._run(self._list(prefix))
