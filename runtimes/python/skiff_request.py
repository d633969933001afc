"""What a Python handler sees (Request, Headers, Context) and how its return value becomes a response.

Mirrors runtimes/node/result.ts; the contract is documented in docs/runtimes/python.md.
"""

import json
import threading
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from skiff import Response
from skiff_state import State


class BadResponse(Exception):
    """The handler's return value cannot be turned into a response (ERROR BAD_RESPONSE)."""


class Headers(Mapping):
    """Request headers: a read-only, case-insensitive mapping with lower-case names.

    headers["x-a"] joins repeated headers with ", "; get_all(name) lists them; raw holds the
    [name, value] pairs in the order received.
    """

    def __init__(self, pairs):
        self.raw = [(str(k).lower(), str(v)) for k, v in pairs]
        self._map = {}
        for name, value in self.raw:
            self._map.setdefault(name, []).append(value)

    def __getitem__(self, name):
        return ", ".join(self._map[name.lower()])

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self):
        return iter(self._map)

    def __len__(self):
        return len(self._map)

    def get_all(self, name):
        return list(self._map.get(name.lower(), ()))

    def __repr__(self):
        return "Headers(%r)" % (self.raw,)


class Request:
    """One HTTP request. path and query_string are as sent (percent-encoded); query holds the decoded
    first value of each parameter, query_all every value as a list.

    path, query_string, query, query_all and headers are made on first use (__getattr__), then kept
    as ordinary attributes: a handler that never reads them does not pay for them."""

    def __init__(self, method, url, header_pairs, body):
        self.method = method
        self.url = url
        self._header_pairs = header_pairs
        self.body = body if type(body) is bytes else bytes(body)

    def __getattr__(self, name):  # only for attributes not set yet
        if name == "path" or name == "query_string":
            parts = urlsplit(self.url)
            self.path = parts.path or "/"
            self.query_string = parts.query
        elif name == "query_all" or name == "query":
            self.query_all = parse_qs(self.query_string, keep_blank_values=True)
            self.query = {key: values[0] for key, values in self.query_all.items()}
        elif name == "headers":
            self.headers = Headers(self._header_pairs)
        else:
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        return self.__dict__[name]

    def text(self, encoding=None):
        """The body decoded with the content-type's charset (default UTF-8); bad bytes become U+FFFD."""
        if encoding is None:
            encoding = "utf-8"
            for part in self.headers.get("content-type", "").split(";")[1:]:
                key, _, value = part.strip().partition("=")
                if key.lower() == "charset" and value:
                    encoding = value.strip('"')
        try:
            return self.body.decode(encoding, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self):
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "Request(%s %s)" % (self.method, self.url)


class Context:
    """Per-invocation context: who runs, until when, env and secrets, a logger and the cancellation flag."""

    def __init__(self, init, meta, log):
        self._init = init
        self.function_name = init.get("function", "")
        self.version = init.get("version", 0)
        self.invocation_id = meta.get("invocationId", "")
        self.deadline = meta.get("deadline", 0)
        self.trigger = meta.get("trigger", "")
        # W3C Trace Context: the invocation's own traceparent (its trace and span), to send on the
        # requests the function makes, and the tracestate that came with it ("" when none)
        self.traceparent = meta.get("traceparent") or ""
        self.tracestate = meta.get("tracestate") or ""
        self.trace_id = self.traceparent[3:35]
        # trigger "call" or "cast": the calling function's name (None otherwise)
        self.caller = meta.get("caller")
        self._calls = None
        self._log = log

    def __getattr__(self, name):  # env and secrets: copies of this invocation's own, made on first use
        if name == "secrets":
            self.secrets = dict(self._init.get("secrets") or {})
        elif name == "env":
            env = dict(self._init.get("env") or {})
            env.update(self._init.get("secrets") or {})
            self.env = env
        else:
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        return self.__dict__[name]

    def call(self, name, body=None, method=None, path="/", headers=None):
        """Calls another function through the platform (see skiff_calls.py): a CallResponse.

        From a sync handler it blocks until the answer; from an async handler it returns an awaitable
        (`await ctx.call(...)`). A refusal of the platform raises skiff.CallError (`.code`).
        """
        if self._calls is None:
            raise RuntimeError("ctx.call is not available here")
        return self._calls.call(self, name, body, method, path, headers)

    def cast(self, name, body=None, delay_ms=None, method=None, path="/", headers=None):
        """Queues an invocation of another function (see skiff_calls.py): its id once it is on disk.

        `delay_ms`: it runs no earlier than this many milliseconds from now (0 to 24 hours), also
        across a platform restart. None when a workflow alias maps to no target. From a sync handler
        it blocks until the id comes; from an async handler it returns an awaitable. A refusal of the
        platform raises skiff.CallError (`.code`).
        """
        if self._calls is None:
            raise RuntimeError("ctx.cast is not available here")
        return self._calls.cast(self, name, body, delay_ms, method, path, headers)

    @property
    def state(self):
        """This function's own state (see skiff_state.py): get, set, delete, list."""
        if self._calls is None:
            raise RuntimeError("ctx.state is not available here")
        return State(self, self._calls)

    def log(self, *args):
        """Writes one log line (stream "log") tied to this invocation; args are joined like print()."""
        self._log(" ".join(str(a) for a in args))

    @property
    def cancelled(self):
        """True once the platform cancelled this invocation (it timed out): stop working."""
        event = self.__dict__.get("_cancel")
        return event is not None and event.is_set()

    @property
    def cancel_event(self):
        """A threading.Event set on cancellation, for sync handlers that wait on something."""
        event = self.__dict__.get("_cancel")
        if event is None:  # made on first use; setdefault keeps one Event when two threads race
            event = self.__dict__.setdefault("_cancel", threading.Event())
        return event

    def remaining_ms(self):
        import time

        return max(0, int(self.deadline - time.time() * 1000))

    def __repr__(self):
        return "Context(%s v%s %s)" % (self.function_name, self.version, self.invocation_id)


TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"
JSON = "application/json"


def _body(value):
    """(default content-type or None, bytes) of a body value."""
    if value is None:
        return None, b""
    if isinstance(value, str):
        return TEXT, value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return OCTETS, bytes(value)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as err:
        raise BadResponse("the handler returned a value that is not JSON-serialisable: %s" % err) from None
    return JSON, text.encode("utf-8")


def _headers(value):
    if value is None:
        return []
    items = value.items() if isinstance(value, Mapping) else value
    pairs = []
    try:
        for name, v in items:
            values = v if isinstance(v, (list, tuple)) else [v]
            pairs.extend([str(name).lower(), str(one)] for one in values)
    except (TypeError, ValueError):
        raise BadResponse("response headers must be a dict or a list of (name, value) pairs") from None
    return pairs


def _response(body, status, headers):
    if type(status) is not int or not 200 <= status <= 599:
        raise BadResponse("the response status must be an int from 200 to 599, not %r" % (status,))
    content_type, data = _body(body)
    pairs = _headers(headers)
    if content_type is not None and not any(name == "content-type" for name, _ in pairs):
        pairs.insert(0, ["content-type", content_type])
    return status, pairs, data


def to_result(value):
    """(status, [[name, value]...], body bytes) for a handler's return value; raises BadResponse."""
    if isinstance(value, Response):
        return _response(value.body, value.status, value.headers)
    if isinstance(value, tuple) and len(value) in (2, 3) and type(value[1]) is int:
        return _response(value[0], value[1], value[2] if len(value) == 3 else None)
    if value is None:
        return 204, [], b""
    return _response(value, 200, None)
