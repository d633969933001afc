"""The Open Runtimes flavor of the Python bridge (docs/compat/openruntimes-python.md).

An Open Runtimes v5 Python function is `main(context)` (sync or async): it reads `context.req`, builds
its answer with `context.res` and returns it; only the returned value is sent. A raise, or no return,
answers 500 with an empty body and the reason in the function's logs, as upstream does. Around the
call, `wrap` applies the rules of upstream's runtime server (skiff_openruntimes_runtime.py).
"""

import asyncio
import inspect
import json
import os
import time
from urllib.parse import urlsplit

import skiff
import skiff_openruntimes_runtime as R

NO_MAIN = "Function signature invalid. Did you forget to export a 'main' function?"
NO_RETURN = "Return statement missing. return context.res.empty() if no response is expected."
NATIVE_NOTICE = "Native logs detected. Use context.log() or context.error() for better experience."
LOG_LIMIT = 8000
LOG_CUT = "... Log truncated due to size limit (8000 characters)"
PREFIX = "x-open-runtimes-"


def _first(status_code, alias):
    return status_code if alias is None else alias


class Response:
    """context.res: each method only builds {body, statusCode, headers}; upstream's parameter names
    (`statusCode`), with `status_code` accepted too."""

    def binary(self, bytes, statusCode=200, headers=None, status_code=None):  # noqa: A002 (upstream's name)
        return {"body": bytes, "statusCode": _first(statusCode, status_code), "headers": dict(headers or {})}

    def text(self, body, statusCode=200, headers=None, status_code=None):
        return self.binary(body.encode("utf-8"), _first(statusCode, status_code), headers)

    def send(self, body, statusCode=200, headers=None, status_code=None):
        """Deprecated upstream: text() without the encoding step."""
        return {"body": body, "statusCode": _first(statusCode, status_code), "headers": dict(headers or {})}

    def json(self, obj, statusCode=200, headers=None, status_code=None):
        headers = dict(headers or {})
        headers["content-type"] = "application/json"
        return self.text(json.dumps(obj, separators=(",", ":")), _first(statusCode, status_code), headers)

    def empty(self):
        return self.text("", 204, {})

    def redirect(self, url, statusCode=301, headers=None, status_code=None):
        headers = dict(headers or {})
        headers["location"] = url
        return self.text("", _first(statusCode, status_code), headers)


def parse_query(query_string):
    """Upstream's query rules: split on &, then at the first =; no decoding; last wins; bare key -> ""."""
    query = {}
    for param in query_string.split("&"):
        name, eq, value = param.partition("=")
        if name:
            query[name] = value if eq else ""
    return query


def split_host(host, default_port):
    """(host, port) from a Host header value; the scheme's port when it names none."""
    name, colon, port = host.rpartition(":")
    # ASCII digits only, and few of them: str.isdigit() takes "²", and int() refuses 4300+ digits
    if colon and port.isascii() and port.isdigit() and len(port) <= 5 and not host.endswith("]"):
        return name, int(port)
    return host, default_port


class Request:
    """context.req, built from the Skiff request (path and query as sent, headers lower-case)."""

    def __init__(self, request, forced_headers):
        self.body_binary = bytes(request.body)
        self.method = request.method
        self.headers = {}
        for name, value in request.headers.raw:
            if name.startswith(PREFIX):
                continue
            self.headers[name] = value if name not in self.headers else self.headers[name] + ", " + value
        for name, value in forced_headers.items():
            self.headers[str(name).lower()] = str(value)
        parts = urlsplit(request.url)
        self.path = parts.path or "/"
        self.query_string = parts.query
        self.query = parse_query(self.query_string)
        self.scheme = self.headers.get("x-forwarded-proto") or "http"
        default_port = 443 if self.scheme == "https" else 80
        self.host, self.port = split_host(self.headers.get("host") or parts.netloc, default_port)
        self.url = self.scheme + "://" + self.host
        if self.port != default_port:
            self.url += ":%d" % self.port
        self.url += self.path
        if self.query_string:
            self.url += "?" + self.query_string

    @property
    def body_text(self):
        return self.body_binary.decode("utf-8")

    @property
    def body_raw(self):
        return self.body_text

    @property
    def body_json(self):
        return json.loads(self.body_text)

    @property
    def body(self):
        if self.headers.get("content-type", "text/plain").lower().startswith("application/json"):
            return self.body_json if self.body_binary else {}
        return self.body_text


def format_log(messages):
    """Arguments joined with spaces (lists, dicts and tuples as compact JSON), cut at 8000 characters."""
    parts = []
    for message in messages:
        if isinstance(message, (list, dict, tuple)):
            try:
                parts.append(json.dumps(message, separators=(",", ":")))
                continue
            except (TypeError, ValueError):
                pass
        parts.append(str(message))
    text = " ".join(parts)
    return text[:LOG_LIMIT] + LOG_CUT if len(text) > LOG_LIMIT else text


class Context:
    """The `context` main() gets: req, res, log, error. `_open`: whether its lines are written (not with
    `x-open-runtimes-logging: disabled`)."""

    def __init__(self, request, ctx, forced_headers, logging=True):
        self._ctx = ctx
        self._open = logging
        self.res = Response()
        self.req = Request(request, forced_headers)

    def log(self, *messages):
        if self._open:
            self._ctx._log(format_log(messages), "info")

    def error(self, *messages):
        if self._open:
            self._ctx._log(format_log(messages), "error")


def _body_bytes(body):
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError("the response body is a %s; use context.res.text, json or binary" % type(body).__name__)


def to_response(output):
    """A skiff.Response for main()'s returned dict, with upstream's header and content-type rules."""
    if not isinstance(output, dict):
        raise TypeError("main returned a %s; return context.res.text(...) or another context.res method" % (
            type(output).__name__))
    body = _body_bytes(output.get("body", ""))
    status = output.get("statusCode", 200)
    if type(status) is not int or not 200 <= status <= 599:
        raise ValueError("the status code %r is not an int from 200 to 599" % (status,))
    headers = []
    content_type = "text/plain"
    for name, value in (output.get("headers") or {}).items():
        name = str(name).lower()
        if name.startswith(PREFIX):
            continue
        if name == "content-type":
            content_type = str(value)
            continue
        for one in value if isinstance(value, (list, tuple)) else [value]:
            headers.append([name, str(one)])
    content_type = content_type.lower()
    if not content_type.startswith("multipart/") and "charset=" not in content_type:
        content_type += "; charset=utf-8"
    headers.insert(0, ["content-type", content_type])
    return skiff.Response(body, status, headers)


def _plain(status, text):
    return to_response({"body": text.encode("utf-8"), "statusCode": status, "headers": {}})


def _consume(task):
    """Done callback: a result nobody waits for any more (a timed-out main) is read, never reported."""
    if not task.cancelled():
        task.exception()


def wrap(main, format_error, run_sync, timings, max_body):
    """A bridge handler `(request, ctx)` calling `main(context)` under upstream's runtime rules
    (skiff_openruntimes_runtime.py). format_error(e): a traceback; run_sync(fn, arg): an awaitable of fn(arg)
    run in the bridge's thread pool (the invocation's context copied); timings(): [(key, seconds)] for
    /__opr/timings; max_body: the largest body the bridge may send."""
    env = R.RuntimeEnv(os.environ)  # raises for an OPEN_RUNTIMES_HEADERS that is not a JSON object
    is_async = inspect.iscoroutinefunction(main)

    def failed(context, err):
        context.error(format_error(err) or "%s: %s" % (type(err).__name__, err))
        return _plain(500, "")

    def finish(context, output):
        if output is None:
            context.error(NO_RETURN)
            return _plain(500, "")
        response = to_response(output)
        if len(response.body) > max_body:
            context.error("response body of %d bytes exceeds the limit of %d" % (len(response.body), max_body))
            return _plain(500, "")
        return response

    async def execute(context):
        """(output, None) or (None, what main raised); raises only CancelledError."""
        try:
            if is_async:
                output = await main(context)
            else:
                output = await run_sync(main, context)
                if inspect.isawaitable(output):
                    output = await output
            return output, None
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # SystemExit too: the caller gets upstream's empty 500
            return None, err

    async def run_checked(request, ctx, logging):
        timeout = R.parse_timeout(R.header_of(request, "x-open-runtimes-timeout"))
        if timeout == R.INVALID:
            return _plain(500, R.BAD_TIMEOUT)
        given = R.header_of(request, "x-open-runtimes-secret") or ""
        if env.secret and not R.secret_matches(given, env.secret):
            return _plain(500, R.UNAUTHORIZED)
        context = Context(request, ctx, env.forced_headers, logging)
        task = asyncio.ensure_future(execute(context))
        task.add_done_callback(_consume)
        left = None
        if timeout is not None and timeout != float("inf"):
            received = getattr(ctx, "_received_at", None) or time.monotonic()
            left = max(0.0, timeout - (time.monotonic() - received))
        try:
            await asyncio.wait({task}, timeout=left)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not task.done():
            # An async main gets CancelledError at its current await; a sync main cannot be stopped
            # (upstream cannot either): it runs on in its thread and what it returns is dropped.
            task.cancel()
            context.error(R.TIMED_OUT)
            return _plain(500, "")
        output, err = task.result()
        if err is not None:
            return failed(context, err)
        try:
            return finish(context, output)
        except Exception as err:  # a value that cannot be sent: upstream's empty 500
            return failed(context, err)

    async def handler(request, ctx):
        route = R.runtime_route(request)
        if route == "health":
            return _plain(200, "OK")
        if route == "timings":
            return _plain(200, R.timings_text(timings()))
        logging, log_id = R.runtime_request(request, env)
        if not logging:
            R.LOGGING_OFF.set(True)  # this invocation's task (and the threads it starts) write no output
        response = await run_checked(request, ctx, logging)
        response.headers.append([R.LOG_ID_HEADER, log_id])
        return response

    return handler
