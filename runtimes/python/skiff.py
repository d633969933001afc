"""Helpers for Skiff Python functions: `from skiff import Response`.

See docs/runtimes/python.md for the whole contract.
"""

import json

__all__ = ["Response", "CallError", "CallResponse", "StateError"]


class Response:
    """An HTTP response a handler can return.

    body: str (sent as UTF-8, default content-type text/plain; charset=utf-8), bytes / bytearray /
    memoryview (default application/octet-stream), None (empty), or any JSON-able value (default
    application/json).
    status: an int from 200 to 599.
    headers: a dict (a list value repeats the header, e.g. {"set-cookie": ["a=1", "b=2"]}) or a list
    of (name, value) pairs. A content-type given here replaces the default.
    """

    __slots__ = ("body", "status", "headers")

    def __init__(self, body=None, status=200, headers=None):
        self.body = body
        self.status = status
        self.headers = headers

    def __repr__(self):
        return "Response(status=%r)" % (self.status,)


class CallError(Exception):
    """`ctx.call` was refused or could not complete; `code` is a stable SKIFF_E_* code."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class StateError(Exception):
    """`ctx.state` was refused; `code` is a stable SKIFF_E_* code (SKIFF_E_STATE_CONFLICT when
    `if_version` did not hold, SKIFF_E_STATE_TOO_LARGE, SKIFF_E_STATE_FULL, SKIFF_E_INVALID_STATE_KEY)."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class CallResponse:
    """What `ctx.call` returns: the called function's response, whatever its status.

    status: int; headers: a dict of lower-case names (repeated headers joined with ", ");
    header_pairs: the headers as received; body: bytes; text() and json() decode it.
    """

    __slots__ = ("status", "headers", "header_pairs", "body")

    def __init__(self, status, header_pairs, body):
        self.status = status
        self.header_pairs = [(str(k), str(v)) for k, v in header_pairs]
        headers = {}
        for key, value in self.header_pairs:
            key = key.lower()
            headers[key] = value if key not in headers else headers[key] + ", " + value
        self.headers = headers
        self.body = bytes(body)

    @property
    def ok(self):
        return 200 <= self.status < 300

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "CallResponse(status=%r)" % (self.status,)
