"""The Python bridge: one instance process speaking runtime protocol v1 (docs/runtime-protocol.md).

It loads the user's module once on INIT and serves concurrent INVOKE frames. A reader thread cuts
frames off the socket: INVOKEs of a plain `def` handler go straight to a thread pool (skiff_pool.py),
every other frame to the asyncio loop, where `async def` handlers run as tasks. Frames leave from any
thread through one writer that joins those that pile up into one write (skiff_frames.py). print() and
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
import threading
import time

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
from skiff_invoke import MAX_RESPONSE_BYTES, Invoker, cut, describe_exception, user_traceback  # noqa: E402
from skiff_output import LogWriter  # noqa: E402
from skiff_pool import Pool  # noqa: E402

PROTOCOL_FD = int(os.environ.get("SKIFF_PROTOCOL_FD") or 3)
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


def diag(text):
    """A line of the bridge's own to the real stderr (an instance-level log line)."""
    try:
        _diag.write("skiff python bridge: %s\n" % text)
        _diag.flush()
    except Exception:
        pass


class Bridge(Invoker):
    def __init__(self, loop, sock):
        self.loop = loop
        self.sock = sock
        self.sender = F.FrameSender(loop, sock)
        self.calls = Calls(loop, self.sender)
        self.pool = Pool(THREADS, "skiff-handler", diag)
        self.inflight = {}
        self.claims = threading.Lock()  # one answer per invocation: see claim()
        self.context = contextvars.copy_context()  # loop callbacks run in it (serve() sets it)
        self.handler = None
        self.sync = False  # the handler is a plain function: INVOKEs go straight to the pool
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
            self.sender.send_frame(F.encode_log(wire_id, stream, level, body))
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
                self.sync = not inspect.iscoroutinefunction(self.handler)
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
        self.sync = not inspect.iscoroutinefunction(self.handler)
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

    def timings(self):
        """/__opr/timings (seconds): `startup` from the bridge's start until it could take its function,
        `load` loading the function (INIT to READY), `uptime` since the bridge's start."""
        times = self.times
        return [
            ("startup", times["hello"] - STARTED),
            ("load", times["ready"] - times["init"]),
            ("uptime", time.monotonic() - STARTED),
        ]

    # the rest of the protocol

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
        except BaseException:
            pass
        os._exit(code)

    async def serve(self):
        self.times["hello"] = time.monotonic()
        self.context = contextvars.copy_context()
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
        threading.Thread(target=self.read, name="skiff-reader", daemon=True).start()
        await self.loop.create_future()  # the process ends with os._exit

    def read(self):
        """The reader thread: a plain function's INVOKEs go to the pool, other frames to the loop.
        If it fails the instance ends (code 70), as on a protocol error: it cannot serve without it."""
        try:
            self.read_frames()
        except BaseException as err:
            diag("the frame reader failed: %s: %s" % describe_exception(err))
            os._exit(70)

    def read_frames(self):
        reader = F.FrameReader()
        recv_into = self.sock.recv_into
        buf = bytearray(F.READ_BYTES)  # one buffer for every read (recv() would map and unmap 256 KiB each time)
        view = memoryview(buf)
        while True:
            try:
                count = recv_into(buf)
            except OSError:
                count = 0
            if not count:
                os._exit(0)  # the platform is gone
            try:
                frames = reader.feed(bytes(view[:count]))
            except F.ProtocolError as err:
                diag("protocol error: %s" % err)
                os._exit(70)
            rest = []
            for frame in frames:
                if frame[0] == F.INVOKE and self.sync:
                    self.on_invoke(frame[1], frame[2], frame[3])
                else:
                    rest.append(frame)
            if rest:
                self.loop.call_soon_threadsafe(self.on_frames, rest, context=self.context)

    def on_frames(self, frames):
        for kind, wire_id, meta, body in frames:
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
    sock.setblocking(True)  # read by one thread, written by whichever thread has frames (skiff_frames.py)
    bridge = Bridge(loop, sock)
    sys.stdout = bridge.stdout
    sys.stderr = bridge.stderr
    await bridge.serve()


if __name__ == "__main__":
    asyncio.run(main())
