"""The OpenEdge / Baetyl flavors of the Python bridge (INIT `flavor: "baetyl"` or `"openedge"`, the same
here; docs/compat/baetyl/flavor.md).

A Baetyl Python function is `handler(event, context)`, named `module.function` (dots before the last
one are packages, imported relative to the code folder; the flavor hands the bridge `a/b.py:handler`
for `a.b.handler`). The event is the body parsed as JSON, else the bytes; the context comes from the
`baetyl-context` header or is built from the MQTT headers; the result becomes the payload Baetyl would
publish, and a failure the text upstream's runtime puts in its gRPC error. runtimes/node/baetyl.ts
holds the same rules for Node.
"""

import asyncio
import importlib
import inspect
import json
import os
import sys
import time
from urllib.parse import unquote

from skiff import Response

ERROR_HEADER = "baetyl-error"
CONTEXT_HEADER = "baetyl-context"
GENERATION_HEADER = "baetyl-generation"
# upstream's runtime raises Exception("[UserCodeInvoke] ", err); gRPC reports it with this prefix
ERROR_FORMAT = "Exception calling application: %s"
TEXT = "text/plain; charset=utf-8"


def module_name(rel):
    """`a/b.py` -> `a.b` when every part is an identifier, else None."""
    if not rel.endswith(".py"):
        return None
    parts = rel[: -len(".py")].replace(os.sep, "/").split("/")
    if not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def load(load_handler, code_dir, spec, init_error):
    """The handler of `file.py:function`, imported as upstream does: the module by its dotted name
    (`a/b.py` as `a.b`, its packages first) with the code folder on the import path, so it imports
    its neighbours and packages as it did there. A name the bridge already holds (a standard module,
    say) or one that is no identifier is loaded from its file instead."""
    rel, _, name = spec.partition(":")
    name = name or "handler"
    dotted = module_name(rel)
    if dotted is None or dotted.split(".")[0] in sys.modules:
        fn = load_handler(code_dir, "%s:%s" % (rel, name), _missing(rel, name))
    else:
        module = importlib.import_module(dotted)
        fn = getattr(module, name, None)
    if not callable(fn):
        raise init_error(_missing(rel, name))
    return fn


def _missing(rel, name):
    return "%s does not define a function %s(event, context)" % (rel, name)


def event_of(body, headers):
    """The body parsed as JSON (as upstream: json.loads of the bytes), else the bytes; empty -> {}
    (generation 2: empty bytes)."""
    if not body:
        return b"" if headers.get(GENERATION_HEADER, "").strip() == "2" else {}
    try:
        return json.loads(body)
    except BaseException:
        return bytes(body)  # raw data, not JSON


def context_of(headers, function_name, invocation_id, now=None):
    """The `baetyl-context` header's JSON object as it is, else Baetyl 1.0's fields from the MQTT
    headers, INIT's function name and the invocation id."""
    given = headers.get(CONTEXT_HEADER)
    if given is not None:
        try:
            parsed = json.loads(given)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's json goes
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    qos = headers.get("mqtt-qos", "").strip()
    return {
        "messageQOS": int(qos) if qos.isdigit() and qos.isascii() and len(qos) < 10 else 0,
        "messageTopic": unquote(headers.get("mqtt-topic", "")),
        "messageTimestamp": int(time.time() if now is None else now),
        "functionName": function_name,
        "functionInvokeID": invocation_id,
        "invokeid": invocation_id,
    }


def failure(kind, err):
    """Upstream's gRPC error details: str(Exception("[Kind] ", err)) after gRPC's prefix."""
    try:
        text = str(Exception("[%s] " % kind, err))
    except BaseException:
        text = "('[%s] ', %s)" % (kind, type(err).__name__)
    body = (ERROR_FORMAT % text).encode("utf-8", "replace")
    return Response(body, 500, [("content-type", TEXT), (ERROR_HEADER, kind)])


def result_of(value):
    """None -> empty (a filter); bytes as they are; anything else json.dumps() as upstream does (so a
    str `hi` is `"hi"`); a value JSON cannot hold fails as upstream's [UserCodeReturn]."""
    if value is None:
        return Response(None, 200, [])  # no body, no content-type
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Response(bytes(value), 200, [("content-type", "application/octet-stream")])
    try:
        data = json.dumps(value).encode("utf-8")
    except BaseException as err:
        return failure("UserCodeReturn", err)
    return Response(data, 200, [("content-type", "application/json")])


def wrap(fn, init, traceback_of, log_error):
    """A bridge handler `(request, ctx)` calling `fn(event, context)` (or awaiting an `async def`).
    Exceptions become upstream's [UserCodeInvoke] text; their traceback goes to the function's logs."""
    function_name = init.get("function", "")

    def args(request, ctx):
        headers = request.headers
        return event_of(request.body, headers), context_of(headers, function_name, ctx.invocation_id)

    def failed(err, ctx):
        log_error(ctx, traceback_of(err) or repr(err))
        return failure("UserCodeInvoke", err)

    if inspect.iscoroutinefunction(fn):

        async def run_async(request, ctx):
            event, context = args(request, ctx)
            try:
                value = await fn(event, context)
            except asyncio.CancelledError:  # the platform cancelled it: the bridge answers
                raise
            except BaseException as err:
                return failed(err, ctx)
            return result_of(value)

        return run_async

    def run(request, ctx):
        event, context = args(request, ctx)
        try:
            value = fn(event, context)
        except BaseException as err:  # as upstream: SystemExit too
            return failed(err, ctx)
        return result_of(value)

    return run
