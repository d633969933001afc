"""Helpers for Skiff Python functions: `from skiff import Response`.

See docs/runtimes/python.md for the whole contract.
"""

__all__ = ["Response"]


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
