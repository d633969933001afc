"""What Open Runtimes' runtime server does around a function (docs/compat/openruntimes.md, "The runtime's
rules"): `GET /__opr/health` and `/__opr/timings`, the `x-open-runtimes-secret` check, the
`x-open-runtimes-timeout`, `-logging` and `-log-id` headers, and `OPEN_RUNTIMES_HEADERS`. Mirrors
runtimes/node/openruntimes-runtime.ts; skiff_openruntimes.py applies it to every invocation.
"""

import contextvars
import hmac
import json
import os
import random
import time
from urllib.parse import urlsplit

HEALTH_PATH = "/__opr/health"
TIMINGS_PATH = "/__opr/timings"
UNAUTHORIZED = 'Unauthorized. Provide correct "x-open-runtimes-secret" header.'
BAD_TIMEOUT = 'Header "x-open-runtimes-timeout" must be an integer greater than 0.'
TIMED_OUT = "Execution timed out."
LOG_ID_HEADER = "x-open-runtimes-log-id"
# Set in the context of an invocation sent with `x-open-runtimes-logging: disabled`: the bridge's
# stdout/stderr writers drop what it writes (threads it starts through the bridge inherit it).
LOGGING_OFF = contextvars.ContextVar("skiff_openruntimes_logging_off", default=False)
INVALID = "invalid"
_random = random.SystemRandom()


def forced_headers():
    """OPEN_RUNTIMES_HEADERS (a JSON object): headers that replace the request's of the same name."""
    raw = os.environ.get("OPEN_RUNTIMES_HEADERS") or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError("OPEN_RUNTIMES_HEADERS must be a JSON object")
    return {str(name).lower(): str(v) for name, v in value.items()}


class RuntimeEnv:
    """The function's environment as the runtime server reads it, once at INIT."""

    def __init__(self, environ):
        self.secret = environ.get("OPEN_RUNTIMES_SECRET") or ""
        self.development = environ.get("OPEN_RUNTIMES_ENV") == "development"
        self.forced_headers = forced_headers()


def header_of(request, name):
    """The first value of a request header, or None."""
    values = request.headers.get_all(name)
    return values[0] if values else None


def secret_matches(given, want):
    """Whether the secrets are equal, compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8"), want.encode("utf-8"))


def parse_timeout(value):
    """`x-open-runtimes-timeout` in seconds: None when absent or empty (an empty value is none, as
    upstream), INVALID unless ASCII digits for a number >= 1, float('inf') when too long to matter."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        return INVALID
    digits = value.lstrip("0")
    if not digits:
        return INVALID
    if len(digits) > 10:
        return float("inf")  # int() of thousands of digits raises; the platform's timeout ends it first
    return int(digits)


def generate_log_id(now=None):
    """Upstream's log id: unix seconds (hex), the milliseconds as 5 hex digits, 7 random hex digits."""
    ms = time.time_ns() // 1000000 if now is None else round(now * 1000)
    seconds, millis = divmod(ms, 1000)
    return "%x%05x%s" % (seconds, millis, "".join("%x" % _random.randrange(16) for _ in range(7)))


def runtime_request(request, env):
    """(logging, log id) for one invocation's headers; the id is "" when logging is disabled."""
    if header_of(request, "x-open-runtimes-logging") == "disabled":
        return False, ""
    given = header_of(request, LOG_ID_HEADER)
    # echoed only when it can go back as a header value (a trigger other than HTTP may carry anything)
    if given and len(given) <= 1024 and all(c == "\t" or " " <= c <= "~" or "\x80" <= c <= "\xff" for c in given):
        return True, given
    return True, "dev" if env.development else generate_log_id()


def runtime_route(request):
    """'health' or 'timings' for a `/__opr/*` route the runtime answers itself, else None."""
    if request.method != "GET":
        return None
    path = urlsplit(request.url).path
    return {HEALTH_PATH: "health", TIMINGS_PATH: "timings"}.get(path)


def timings_text(timings):
    """`key=value` lines, seconds with millisecond precision."""
    return "".join("%s=%.3f\n" % (key, seconds) for key, seconds in timings)
