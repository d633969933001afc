"""The tinyFaaS flavor of the Python bridge (docs/compat/tinyfaas-flavors.md).

A tinyFaaS python3 function is `fn(input, headers)` (or `fn(input)`) in fn.py: input is the body
decoded as UTF-8 or None when empty, headers a dict with canonical names. It returns str, bytes or None.
"""

import inspect
import re

_STRIPPED = re.compile(r'[:()<>@,;"/\[\]?={} \t]')
_AFTER_DASH = re.compile(r"(^|-)([a-z])")
TEXT = "text/plain; charset=utf-8"


def canonical_header_name(name):
    """A header name as tinyFaaS passes it: `:()<>@,;"/[]?={}`, space and tab removed, then canonical
    (first letter and each letter after `-` upper case, the rest lower: `user-agent` -> `User-Agent`)."""
    stripped = _STRIPPED.sub("", name).lower()
    return _AFTER_DASH.sub(lambda m: m.group(1) + m.group(2).upper(), stripped)


def tinyfaas_headers(pairs):
    """[[name, value]...] -> dict with canonical names, first value of each name only."""
    out = {}
    for name, value in pairs:
        key = canonical_header_name(str(name))
        if key and key not in out:
            out[key] = value
    return out


def _takes_headers(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def wrap(fn):
    """A bridge handler `(request, ctx)` that calls the tinyFaaS function and returns (body, 200)."""
    with_headers = _takes_headers(fn)

    def handler(request, ctx):
        data = request.body.decode("utf-8", errors="replace") if request.body else None
        if with_headers:
            value = fn(data, tinyfaas_headers(request.headers.raw))
        else:
            value = fn(data)
        if value is None:
            return b"", 200, {"content-type": TEXT}
        if isinstance(value, str):
            return value, 200
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value), 200
        raise TypeError("fn returned a %s; return a str, bytes or None" % type(value).__name__)

    return handler
