"""The Open Runtimes flavor of the Python bridge (docs/compat/openruntimes-python.md).

An Open Runtimes v5 Python function is `main(context)` (sync or async): it reads `context.req`, builds
its answer with `context.res` and returns it; only the returned value is sent. A raise, or no return,
answers 500 with an empty body and the reason in the function's logs, as upstream does.
"""

import asyncio
import hmac
import inspect
import json
import os
from urllib.parse import urlsplit

import skiff

NO_MAIN = "Function signature invalid. Did you forget to export a 'main' function?"
NO_RETURN = "Return statement missing. return context.res.empty() if no response is expected."
NATIVE_NOTICE = "Native logs detected. Use context.log() or context.error() for better experience."
LOG_LIMIT = 8000
LOG_CUT = "... Log truncated due to size limit (8000 characters)"
PREFIX = "x-open-runtimes-"
UNAUTHORIZED = 'Unauthorized. Provide correct "x-open-runtimes-secret" header.'


def carries_secret(request):
    """With OPEN_RUNTIMES_SECRET set (the executor API sets it), a request must carry it, as upstream's."""
    secret = os.environ.get("OPEN_RUNTIMES_SECRET") or ""
    if secret == "":
        return True
    expected = secret.encode("utf-8")
    return any(
        name.lower() == PREFIX + "secret" and hmac.compare_digest(value.encode("utf-8"), expected)
        for name, value in request.headers.raw
    )


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
    """The `context` main() gets: req, res, log, error."""

    def __init__(self, request, ctx, forced_headers):
        self._ctx = ctx
        self.res = Response()
        self.req = Request(request, forced_headers)

    def log(self, *messages):
        self._ctx._log(format_log(messages), "info")

    def error(self, *messages):
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


def forced_headers():
    """OPEN_RUNTIMES_HEADERS (a JSON object): headers that replace the request's of the same name."""
    raw = os.environ.get("OPEN_RUNTIMES_HEADERS") or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError("OPEN_RUNTIMES_HEADERS must be a JSON object")
    return value


def wrap(main, format_error):
    """A bridge handler `(request, ctx)` calling `main(context)`; format_error(e) gives a traceback."""
    forced = forced_headers()

    def failed(context, err):
        context.error(format_error(err) or "%s: %s" % (type(err).__name__, err))
        return to_response(context.res.text("", 500, {}))

    def finish(context, output):
        if output is None:
            context.error(NO_RETURN)
            return to_response(context.res.text("", 500, {}))
        return to_response(output)

    async def finish_async(context, pending):
        try:
            return finish(context, await pending)
        except BaseException as err:  # SystemExit too: the caller gets upstream's empty 500
            if isinstance(err, asyncio.CancelledError):
                raise
            return failed(context, err)

    if inspect.iscoroutinefunction(main):

        async def handler(request, ctx):
            if not carries_secret(request):
                return to_response(Response().text(UNAUTHORIZED, 500, {}))
            context = Context(request, ctx, forced)
            try:
                return finish(context, await main(context))
            except BaseException as err:
                if isinstance(err, asyncio.CancelledError):
                    raise
                return failed(context, err)

        return handler

    def handler(request, ctx):  # run in the bridge's thread pool
        if not carries_secret(request):
            return to_response(Response().text(UNAUTHORIZED, 500, {}))
        context = Context(request, ctx, forced)
        try:
            output = main(context)
            if inspect.isawaitable(output):
                return finish_async(context, output)
            return finish(context, output)
        except BaseException as err:  # SystemExit too: the caller gets upstream's empty 500
            if isinstance(err, asyncio.CancelledError):
                raise
            return failed(context, err)

    return handler
