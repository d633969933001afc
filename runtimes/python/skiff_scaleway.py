"""The Scaleway flavor of the Python bridge (docs/compat/scaleway.md).

A Scaleway Python function is `handle(event, context)` in handler.py (skiff.json `handler`, Scaleway's
`file.function`, arrives as `file.py:function`). The event is API-Gateway-style, the context holds the
memory limit, name and version; a str result is sent as it is, anything else as JSON plus a newline,
and that text becomes the response by Scaleway's rules. runtimes/node/scaleway-event.ts holds the same
rules for Node.
"""

import base64
import binascii
import inspect
import json
import os
import re
import sys
from urllib.parse import parse_qsl, urlsplit

from skiff import Response

TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"
# upstream's spelling
EXECUTION_FAILED = "An error occured during handler execution: "
LOAD_FAILED = (
    "Function Handler does not exist, check that you provided the right HANDLER parameter "
    "(path to your module with exported function to use)"
)
NOT_A_FUNCTION = "Provided Handler does not exist, or does not export methods properly."
RECORD_KEYS = ("statusCode", "body", "headers", "isBase64Encoded")
BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
_AFTER_DASH = re.compile(r"(^|-)([a-z])")


def canonical_name(name):
    """`content-type` -> `Content-Type`."""
    return _AFTER_DASH.sub(lambda m: m.group(1) + m.group(2).upper(), name.lower())


class EventHeaders(dict):
    """The event's headers: canonical names, read in any case (`headers.get("content-type")`)."""

    def __missing__(self, key):
        if isinstance(key, str) and canonical_name(key) != key:
            return self[canonical_name(key)]
        raise KeyError(key)

    def __contains__(self, key):
        return dict.__contains__(self, key) or (
            isinstance(key, str) and dict.__contains__(self, canonical_name(key))
        )

    def get(self, key, default=None):
        return self[key] if key in self else default


def event_headers(pairs):
    out = EventHeaders()
    for name, value in pairs:
        key = canonical_name(str(name))
        out[key] = out[key] + "," + value if key in out else value
    return out


def _utf8(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def event_body(data):
    """(body, is_base64_encoded) for the request body bytes."""
    text = _utf8(data)
    if text is None:  # not UTF-8: the exact bytes in base64, so binary uploads survive
        return base64.b64encode(data).decode("ascii"), True
    # upstream's guess: the text is valid base64 (empty included) whose bytes are UTF-8 text
    return text, bool(BASE64.match(text)) and _utf8(base64.b64decode(text)) is not None


def scaleway_event(method, url, header_pairs, data):
    parts = urlsplit(url)
    body, encoded = event_body(bytes(data))
    event = {
        "resource": "",
        "path": parts.path or "/",
        "httpMethod": method,
        "headers": event_headers(header_pairs),
        "multiValueHeaders": None,
        "queryStringParameters": dict(parse_qsl(parts.query, keep_blank_values=True)),
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": {},
        "requestContext": {
            "accountId": "",
            "resourceId": "",
            "stage": "",
            "requestId": "",
            "resourcePath": "",
            "authorizer": None,
            "httpMethod": method,
            "apiId": "",
        },
        "body": body,
    }
    if encoded:
        event["isBase64Encoded"] = True
    return event


def plain(status, text):
    """A plain-text answer of the flavor's own (a failure), ending in a newline as upstream's do."""
    return Response((text + "\n").encode("utf-8"), status, [("content-type", TEXT)])


def execution_failed(message):
    return plain(500, EXECUTION_FAILED + message)


def _is_record(value):
    return isinstance(value, dict) and any(key in value for key in RECORD_KEYS)


def _record_headers(headers):
    pairs = []
    if not isinstance(headers, dict):
        return pairs
    for name, raw in headers.items():
        for value in raw if isinstance(raw, list) else [raw]:
            if value is None or isinstance(value, (dict, list)):
                continue
            text = json.dumps(value) if isinstance(value, bool) else str(value)
            pairs.append((str(name).lower(), text))
    return pairs


def _from_record(record):
    status = record.get("statusCode", 200)
    if type(status) is not int or not 200 <= status <= 599:
        return execution_failed("statusCode %s is not an HTTP status" % json.dumps(status))
    content_type = TEXT
    body = record.get("body")
    if record.get("isBase64Encoded") is True:
        if not isinstance(body, str) or not BASE64.match(body):
            return execution_failed("body is not a valid base64 string although isBase64Encoded is true")
        data = base64.b64decode(body)
        if _utf8(data) is None:
            content_type = OCTETS
    elif body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = _record_headers(record.get("headers"))
    if not any(name == "content-type" for name, _ in headers):
        headers.insert(0, ("content-type", content_type))
    return Response(data, status, headers)


def from_text(text):
    """The reply for a result's text: JSON of an object with any of the record's fields is a response
    record; anything else is a 200 with the text."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # nested too deep for Python's parser: not a record either
        parsed = None
    if _is_record(parsed):
        return _from_record(parsed)
    return Response(text.encode("utf-8"), 200, [("content-type", TEXT)])


def from_result(value):
    """A str as it is; bytes as they are; anything else as JSON and a newline (True -> `true\\n`)."""
    if isinstance(value, str):
        return from_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return Response(data, 200, [("content-type", TEXT if _utf8(data) is not None else OCTETS)])
    return from_text(json.dumps(value) + "\n")


def load(load_handler, code_dir, spec, report, init_error, traceback_of):
    """(function, None), or (None, the reply every call gets) when it cannot be loaded: a module that
    raises or is missing gets upstream's HANDLER message, a missing function its export message.
    As upstream's runtime does, the handler file's own folder is on the import path (last), so
    `handlers/handler.py` can import its neighbours (`import helper` for `handlers/helper.py`)."""
    folder = os.path.dirname(os.path.join(code_dir, spec.split(":", 1)[0]))
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.append(folder)
    try:
        return load_handler(code_dir, spec, NOT_A_FUNCTION), None
    except init_error as err:
        report(str(err))
        return None, NOT_A_FUNCTION
    except BaseException as err:  # SystemExit in module code too
        report(traceback_of(err) or repr(err))
        return None, LOAD_FAILED


def wrap(fn, failure, init, traceback_of, log_error):
    """A bridge handler `(request, ctx)` for the function (or its load failure). Exceptions become
    upstream's 500 with their message; the traceback goes to the function's logs."""
    context = {
        "memoryLimitInMb": init.get("memoryMb") or 128,
        "functionName": init.get("function", ""),
        "functionVersion": str(init.get("version", "")),
    }

    def is_mqtt(request):
        # upstream's legacy trigger header: `mqtt` hands the handler the raw body and answers for it
        return any(k.lower() == "scw_trigger_type" and v == "mqtt" for k, v in request.headers.raw)

    def event_of(request):
        if is_mqtt(request):
            return request.body.decode("utf-8", "replace")
        return scaleway_event(request.method, request.url, request.headers.raw, request.body)

    def answer(request, value):
        return plain(200, "executed properly") if is_mqtt(request) else _result(value)

    def failed(err, ctx):
        log_error(ctx, traceback_of(err) or repr(err))
        return execution_failed(str(err))

    if failure is not None:
        return lambda request, ctx: plain(500, failure)

    if inspect.iscoroutinefunction(fn):

        async def run_async(request, ctx):
            try:
                value = await fn(event_of(request), dict(context))
            except Exception as err:
                return failed(err, ctx)
            return answer(request, value)

        return run_async

    def run(request, ctx):
        try:
            value = fn(event_of(request), dict(context))
        except Exception as err:
            return failed(err, ctx)
        return answer(request, value)

    return run


def _result(value):
    try:
        return from_result(value)
    except (TypeError, ValueError, RecursionError) as err:
        return execution_failed(str(err))
