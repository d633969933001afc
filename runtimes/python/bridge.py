"""The Python bridge: one instance process speaking runtime protocol v1 (docs/runtime-protocol.md).

It loads the user's module once on INIT and serves concurrent INVOKE frames on one asyncio loop:
`async def` handlers run as tasks on the loop, plain `def` handlers in a thread pool. print() and
other writes to sys.stdout / sys.stderr become LOG frames of the invocation that wrote them.
Stdlib only, Python >= 3.9. The contract for user code is in docs/runtimes/python.md.
"""

import asyncio
import contextvars
import importlib.util
import inspect
import os
import platform
import socket
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

# When the bridge's code started (time.monotonic()), for an Open Runtimes function's /__opr/timings.
STARTED = time.monotonic()

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import skiff  # noqa: E402  (imported first so a user file named skiff.py cannot replace it)
import skiff_baetyl  # noqa: E402
import skiff_frames as F  # noqa: E402
import skiff_openruntimes  # noqa: E402
import skiff_scaleway  # noqa: E402
import skiff_tinyfaas  # noqa: E402
from skiff_calls import Calls  # noqa: E402
from skiff_output import LogWriter, current_id  # noqa: E402
from skiff_request import BadResponse, Context, Request, to_result  # noqa: E402

PROTOCOL_FD = int(os.environ.get("SKIFF_PROTOCOL_FD") or 3)
MAX_RESPONSE_BYTES = int(os.environ.get("SKIFF_MAX_RESPONSE_BYTES") or 6 * 1024 * 1024)
THREADS = int(os.environ.get("SKIFF_PYTHON_THREADS") or 64)
# Longest LOG text, ERROR message and stack sent (characters); longer ones are cut with a marker.
MAX_LOG_CHARS = 16 * 1024
MAX_MESSAGE_CHARS = 16 * 1024
MAX_STACK_CHARS = 64 * 1024
_diag = sys.__stderr__
# The flavors this bridge knows besides Skiff's own, and the handler of each when INIT names none.
DEFAULT_HANDLERS = {
    "tinyfaas": "fn.py:fn",
    "openruntimes": "main.py:main",
    "scaleway": "handler.py:handle",
    "baetyl": "index.py:handler",
    "openedge": "index.py:handler",
}


def cut(text, limit):
    """text, or its first `limit` characters and a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return "%s … [cut: %d more characters]" % (text[:limit], len(text) - limit)


def describe_exception(err):
    """`Type: text` for an exception, even when its str() raises or returns something else."""
    try:
        name = type(err).__name__
    except BaseException:
        name = "Exception"
    try:
        text = str(err)
    except BaseException:
        text = None
    if not isinstance(text, str):
        text = "(the exception's str() failed)"
    return name, text


def diag(text):
    """A line of the bridge's own to the real stderr (an instance-level log line)."""
    try:
        _diag.write("skiff python bridge: %s\n" % text)
        _diag.flush()
    except Exception:
        pass


class Invocation:
    def __init__(self, ctx):
        self.ctx = ctx
        self.task = None
        self.native_output = False  # an openruntimes function printed (its notice is out)


class Bridge:
    def __init__(self, loop, reader, writer):
        self.loop = loop
        self.reader = reader
        self.writer = writer
        self.sender = F.FrameSender(loop, writer)
        self.calls = Calls(loop, self.sender)
        self.pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="skiff-handler")
        self.inflight = {}
        self.handler = None
        self.init = None
        self.native_notice = None  # the line sent before a function's first print (a flavor's)
        self.times = {"hello": 0.0, "init": 0.0, "ready": 0.0}  # time.monotonic() at each step
        self.shutting_down = False
        self.stdout = LogWriter(self, "stdout", "info")
        self.stderr = LogWriter(self, "stderr", "error")

    def log(self, wire_id, stream, level, text):
        if self.native_notice and stream != "log":
            level = "info"  # Open Runtimes sends print() and sys.stderr alike to the function's logs
            inv = self.inflight.get(wire_id) if wire_id else None
            if inv is not None and not inv.native_output:
                inv.native_output = True
                self.log(wire_id, "log", "info", self.native_notice)
        try:
            body = cut(text, MAX_LOG_CHARS).encode("utf-8", "replace")
            self.sender.send(F.LOG, wire_id, {"stream": stream, "level": level}, body)
        except ValueError as err:  # over the frame size: say so rather than lose the invocation
            diag("log line dropped: %s" % err)

    def error(self, wire_id, code, message, stack=None, call_failure=None):
        """Sends an ERROR whose message (and stack) are strings of bounded length, whatever was given."""
        if not isinstance(message, str):
            message = "(no message)"
        meta = {"code": code, "message": cut(message, MAX_MESSAGE_CHARS)}
        if isinstance(stack, str) and stack:
            meta["stack"] = cut(stack, MAX_STACK_CHARS)
        if isinstance(call_failure, str):
            meta["callFailure"] = call_failure
        self.sender.send(F.ERROR, wire_id, meta)

    # INIT

    def on_init(self, meta):
        self.times["init"] = time.monotonic()
        self.init = meta
        secrets = meta.get("secrets") or {}
        # a warm-pool process learns env and secrets here; a secret wins over an env entry of its name,
        # and the platform leaves its own variables (PATH, HOME ...) out of both
        for key, value in list((meta.get("env") or {}).items()) + list(secrets.items()):
            os.environ[str(key)] = str(value)
        flavor = meta.get("flavor")
        spec = str(meta.get("handler") or DEFAULT_HANDLERS.get(flavor, "main.py"))
        try:
            if flavor is not None and flavor not in DEFAULT_HANDLERS:
                raise InitError("the python runtime has no flavor %s" % flavor)
            code_dir = meta["codeDir"]
            os.chdir(code_dir)
            paths = [os.path.join(code_dir, ".skiff", "python"), code_dir]
            if flavor == "scaleway":  # Scaleway's vendored dependencies, after the function's own files
                paths.insert(1, os.path.join(code_dir, "package"))
            for entry in paths:
                if entry in sys.path:
                    sys.path.remove(entry)
                sys.path.insert(0, entry)
            if flavor == "scaleway":
                self.handler = self.load_scaleway(code_dir, spec, meta)
                self.stdout.flush_id(0)
                self.stderr.flush_id(0)
                self.sender.send(F.READY, 0, {})
                return
            missing = skiff_openruntimes.NO_MAIN if flavor == "openruntimes" else None
            if flavor in ("baetyl", "openedge"):  # imported as upstream does (skiff_baetyl.py)
                fn = skiff_baetyl.load(load_handler, code_dir, spec, InitError)
                self.handler = skiff_baetyl.wrap(fn, meta, user_traceback, lambda c, t: c._log(t, "error"))
            else:
                self.handler = load_handler(code_dir, spec, missing)
            if flavor == "tinyfaas":
                self.handler = skiff_tinyfaas.wrap(self.handler)
            elif flavor == "openruntimes":
                self.handler = skiff_openruntimes.wrap(
                    self.handler, user_traceback, self.run_sync, self.timings, MAX_RESPONSE_BYTES
                )
                self.native_notice = skiff_openruntimes.NATIVE_NOTICE
        except BaseException as err:  # SystemExit in module code too
            self.stdout.flush_id(0)
            self.stderr.flush_id(0)
            name, text = describe_exception(err)
            if isinstance(err, InitError):
                self.error(0, "INIT_ERROR", text)
            else:
                self.error(0, "INIT_ERROR", "%s: %s" % (name, text), user_traceback(err))
            return
        self.stdout.flush_id(0)
        self.stderr.flush_id(0)
        self.times["ready"] = time.monotonic()
        self.sender.send(F.READY, 0, {})

    def load_scaleway(self, code_dir, spec, meta):
        """A Scaleway function's bridge handler: code that cannot load still starts, and every call
        answers upstream's 500 (skiff_scaleway.py)."""
        report = lambda text: self.log(0, "stderr", "error", text)  # noqa: E731
        fn, failure = skiff_scaleway.load(load_handler, code_dir, spec, report, InitError, user_traceback)
        log_error = lambda ctx, text: ctx._log(text, "error")  # noqa: E731
        return skiff_scaleway.wrap(fn, failure, meta, user_traceback, log_error)

    def run_sync(self, fn, arg):
        """An awaitable of fn(arg) run in the thread pool, in a copy of the caller's context."""
        return self.loop.run_in_executor(self.pool, contextvars.copy_context().run, fn, arg)

    def timings(self):
        """/__opr/timings (seconds): `startup` from the bridge's start until it could take its function,
        `load` loading the function (INIT to READY), `uptime` since the bridge's start."""
        times = self.times
        return [
            ("startup", times["hello"] - STARTED),
            ("load", times["ready"] - times["init"]),
            ("uptime", time.monotonic() - STARTED),
        ]

    # INVOKE

    def on_invoke(self, wire_id, meta, body):
        ctx = Context(self.init or {}, meta, lambda text, level="info": self.log(wire_id, "log", level, text))
        ctx._calls = self.calls
        ctx._received_at = time.monotonic()  # an Open Runtimes timeout counts from here
        inv = Invocation(ctx)
        self.inflight[wire_id] = inv
        inv.task = self.loop.create_task(self.invoke(wire_id, inv, meta, body))

    async def invoke(self, wire_id, inv, meta, body):
        current_id.set(wire_id)
        try:
            if self.handler is None:
                raise RuntimeError("INVOKE before READY")
            request = Request(meta.get("method", "GET"), meta.get("url", "http://localhost/"), meta.get("headers") or [], body)
            fn = self.handler
            if inspect.iscoroutinefunction(fn):
                value = await fn(request, inv.ctx)
            else:
                call = contextvars.copy_context().run
                value = await self.loop.run_in_executor(self.pool, call, fn, request, inv.ctx)
                if inspect.isawaitable(value):
                    value = await value
            if inv.ctx.cancelled:
                raise asyncio.CancelledError()
            status, headers, out = to_result(value)
            self.flush_output(wire_id)
            if len(out) > MAX_RESPONSE_BYTES:
                message = "response body of %d bytes exceeds the limit of %d" % (len(out), MAX_RESPONSE_BYTES)
                self.error(wire_id, "RESPONSE_TOO_LARGE", message)
            else:
                self.sender.send(F.RESULT, wire_id, {"status": status, "headers": headers}, out)
        except asyncio.CancelledError:
            self.flush_output(wire_id)
            self.error(wire_id, "CANCELLED", "cancelled")
        except BadResponse as err:
            self.flush_output(wire_id)
            self.error(wire_id, "BAD_RESPONSE", describe_exception(err)[1])
        except BaseException as err:  # SystemExit / KeyboardInterrupt from user code stay user errors
            try:
                self.flush_output(wire_id)
                if inv.ctx.cancelled:
                    self.error(wire_id, "CANCELLED", "cancelled")
                else:
                    # a tinyFaaS function's error text is str(e), which the platform shows to the caller
                    tinyfaas = (self.init or {}).get("flavor") == "tinyfaas"
                    name, text = describe_exception(err)
                    message = text if tinyfaas else "%s: %s" % (name, text)
                    # a ctx.call refusal it did not catch: the platform may fail the invocation with it
                    failure = err.code if isinstance(err, skiff.CallError) else None
                    self.error(wire_id, "FUNCTION_ERROR", message, user_traceback(err), failure)
            except BaseException:  # whatever the exception does, the invocation gets an answer
                self.error(wire_id, "FUNCTION_ERROR", "the function raised an exception that cannot be shown")
        finally:
            self.inflight.pop(wire_id, None)
            if self.shutting_down and not self.inflight:
                self.loop.create_task(self.exit(0))

    def flush_output(self, wire_id):
        self.stdout.flush_id(wire_id)
        self.stderr.flush_id(wire_id)

    # the rest of the protocol

    def on_cancel(self, wire_id):
        inv = self.inflight.get(wire_id)
        if inv is None:
            return
        inv.ctx.cancel_event.set()
        # An async handler gets CancelledError; a sync one keeps running in its thread (it can watch
        # ctx.cancelled), but the task stops waiting for it, so CANCELLED goes out at once.
        if inv.task is not None:
            inv.task.cancel()

    def on_shutdown(self, meta):
        self.shutting_down = True
        if not self.inflight:
            self.loop.create_task(self.exit(0))
            return
        grace = max(0.0, float(meta.get("graceMs") or 0) / 1000.0)
        self.loop.call_later(grace, lambda: self.loop.create_task(self.exit(0)))

    async def exit(self, code):
        """Flushes output and frames, closes the socket and ends the process (threads are not joined)."""
        try:
            self.stdout.flush_id(0)
            self.stderr.flush_id(0)
            self.sender.flush()
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 0.2)
        except BaseException:
            pass
        os._exit(code)

    async def serve(self):
        self.times["hello"] = time.monotonic()
        self.sender.send(
            F.HELLO,
            0,
            {
                "protocol": F.PROTOCOL_VERSION,
                "runtime": "python",
                "runtimeVersion": platform.python_version(),
                "pid": os.getpid(),
            },
        )
        while True:
            try:
                kind, wire_id, meta, body = await F.read_frame(self.reader)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                os._exit(0)  # the platform is gone
            except F.ProtocolError as err:
                diag("protocol error: %s" % err)
                os._exit(70)
            if kind == F.INVOKE:
                self.on_invoke(wire_id, meta, body)
            elif kind == F.PING:
                self.sender.send(F.PONG, wire_id, {"inFlight": len(self.inflight)})
            elif kind == F.CANCEL:
                self.on_cancel(wire_id)
            elif kind == F.REPLY:
                self.calls.on_reply(wire_id, meta, body)
            elif kind == F.FAIL:
                self.calls.on_fail(wire_id, meta)
            elif kind == F.INIT:
                self.on_init(meta)
            elif kind == F.SHUTDOWN:
                self.on_shutdown(meta)
            else:
                diag("ignoring frame kind %d" % kind)


_PLUMBING = (HERE + os.sep, os.path.dirname(asyncio.__file__) + os.sep, os.path.dirname(os.path.dirname(
    inspect.getfile(ThreadPoolExecutor))) + os.sep)


def user_traceback(err):
    """The traceback of an exception from user code, without the bridge's and the executor's frames."""
    try:
        tb = err.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PLUMBING + ("<frozen ",)):
            tb = tb.tb_next
        return "".join(traceback.format_exception(type(err), err, tb or err.__traceback__))
    except BaseException:
        return None


class InitError(Exception):
    """The module loaded but has no usable handler (reported without a traceback)."""


def load_handler(code_dir, spec, missing=None):
    """Imports `file.py` or `file.py:function` (relative to code_dir); the function defaults to handle.
    `missing`: the message when there is no such function (a flavor's own)."""
    rel, _, name = spec.partition(":")
    name = name or "handle"
    path = os.path.realpath(os.path.join(code_dir, rel))
    module_name = os.path.splitext(rel)[0].replace("/", ".").replace(os.sep, ".")
    if not module_name.replace(".", "_").isidentifier() or module_name in sys.modules:
        module_name = "_skiff_handler"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise InitError("cannot load %s as a Python module" % rel)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise InitError(missing or "%s does not define a function %s(request, ctx)" % (rel, name))
    return fn


async def main():
    loop = asyncio.get_running_loop()
    sock = socket.socket(fileno=PROTOCOL_FD)
    reader, writer = await asyncio.open_connection(sock=sock)
    bridge = Bridge(loop, reader, writer)
    sys.stdout = bridge.stdout
    sys.stderr = bridge.stderr
    await bridge.serve()


if __name__ == "__main__":
    asyncio.run(main())
