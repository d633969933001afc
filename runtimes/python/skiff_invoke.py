"""The INVOKE path of the Python bridge (docs/runtime-protocol.md, INVOKE / RESULT / ERROR / CANCEL).

A plain `def` handler runs on a pool thread (skiff_pool.py) straight from the reader thread, in a copy
of the bridge's context: no asyncio task, future or loop wake-up per call. An `async def` handler
runs as a task on the loop. Either way the thread that finishes answers, once: claim() lets exactly
one answer out per invocation, the handler's or a CANCEL's that came first.
"""

import asyncio
import contextvars
import inspect
import os
import threading
import time
import traceback

import skiff
import skiff_frames as F
from skiff_output import current_id
from skiff_request import BadResponse, Context, Request, to_result

MAX_RESPONSE_BYTES = int(os.environ.get("SKIFF_MAX_RESPONSE_BYTES") or 6 * 1024 * 1024)
HERE = os.path.dirname(os.path.abspath(__file__))


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


class Invocation:
    __slots__ = ("ctx", "task", "native_output")

    def __init__(self, ctx):
        self.ctx = ctx
        self.task = None  # the asyncio task running it, if it runs on the loop
        self.native_output = False  # an openruntimes function printed (its notice is out)


class Invoker:
    """The Bridge's invocation methods (a mixin: the Bridge holds loop, pool, sender, inflight, claims,
    context, handler, sync, init, shutting_down, and error, log and exit)."""

    def run_sync(self, fn, arg):
        """An awaitable of fn(arg) run in the thread pool, in a copy of the caller's context (loop thread)."""
        future = self.loop.create_future()
        context = contextvars.copy_context()

        def work():
            try:
                value = context.run(fn, arg)
            except BaseException as err:
                self.loop.call_soon_threadsafe(_settle, future, None, err)
            else:
                self.loop.call_soon_threadsafe(_settle, future, value, None)

        self.pool.submit(work)
        return future

    def on_invoke(self, wire_id, meta, body):
        """Starts an invocation: a plain function's on a pool thread (called on the reader thread),
        an `async def` one as a task (called on the loop thread)."""
        ctx = Context(self.init or {}, meta, lambda text, level="info": self.log(wire_id, "log", level, text))
        ctx._calls = self.calls
        ctx._received_at = time.monotonic()  # an Open Runtimes timeout counts from here
        inv = Invocation(ctx)
        self.inflight[wire_id] = inv
        if self.sync:
            self.pool.submit(self.context.copy().run, self.invoke_sync, wire_id, inv, meta, body)
        else:
            inv.task = self.loop.create_task(self.invoke(wire_id, inv, meta, body))

    def invoke_sync(self, wire_id, inv, meta, body):
        """A plain function's invocation, on a pool thread in a context of its own."""
        if self.inflight.get(wire_id) is not inv:
            return  # cancelled (and answered) before a thread took it
        current_id.set(wire_id)
        try:
            value = self.handler(_request(meta, body), inv.ctx)
            if inspect.isawaitable(value):  # a plain function that returned an awaitable: awaited on the loop
                context = contextvars.copy_context()
                self.loop.call_soon_threadsafe(self.await_value, wire_id, inv, value, context=context)
                return
        except BaseException as err:  # SystemExit / KeyboardInterrupt from user code stay user errors
            self.failed(wire_id, inv, err)
        else:
            self.finish(wire_id, inv, value)

    def await_value(self, wire_id, inv, value):
        if self.inflight.get(wire_id) is not inv:  # cancelled meanwhile
            getattr(value, "close", lambda: None)()
            return

        async def wait():
            try:
                result = await value
            except BaseException as err:
                self.failed(wire_id, inv, err)
            else:
                self.finish(wire_id, inv, result)

        inv.task = self.loop.create_task(wait())

    async def invoke(self, wire_id, inv, meta, body):
        current_id.set(wire_id)
        try:
            if self.handler is None:
                raise RuntimeError("INVOKE before READY")
            value = await self.handler(_request(meta, body), inv.ctx)
        except BaseException as err:  # CancelledError too
            self.failed(wire_id, inv, err)
        else:
            self.finish(wire_id, inv, value)

    def claim(self, wire_id, inv):
        """True once per invocation, for whoever answers it (its thread, or a CANCEL that came first)."""
        with self.claims:
            if self.inflight.get(wire_id) is not inv:
                return False
            del self.inflight[wire_id]
        return True

    def finish(self, wire_id, inv, value):
        """Answers with the handler's return value (any thread)."""
        try:
            if inv.ctx.cancelled:
                raise asyncio.CancelledError()
            status, headers, out = to_result(value)
        except BaseException as err:
            self.failed(wire_id, inv, err)
            return
        if not self.claim(wire_id, inv):
            return
        try:
            self.flush_output(wire_id)
            if len(out) > MAX_RESPONSE_BYTES:
                message = "response body of %d bytes exceeds the limit of %d" % (len(out), MAX_RESPONSE_BYTES)
                self.error(wire_id, "RESPONSE_TOO_LARGE", message)
            else:
                self.sender.send_frame(F.encode_result(wire_id, status, headers, out))
        except BaseException as err:
            self.answer_error(wire_id, inv, err)
        self.answered()

    def failed(self, wire_id, inv, err):
        """Answers with an ERROR for what the invocation raised (any thread)."""
        if self.claim(wire_id, inv):
            self.answer_error(wire_id, inv, err)
            self.answered()

    def answer_error(self, wire_id, inv, err):
        try:
            self.flush_output(wire_id)
            if isinstance(err, asyncio.CancelledError):
                self.error(wire_id, "CANCELLED", "cancelled")
            elif isinstance(err, BadResponse):
                self.error(wire_id, "BAD_RESPONSE", describe_exception(err)[1])
            elif inv.ctx.cancelled:
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

    def answered(self):
        if self.shutting_down and not self.inflight:
            self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self.exit(0)))

    def flush_output(self, wire_id):
        self.stdout.flush_id(wire_id)
        self.stderr.flush_id(wire_id)

    def on_cancel(self, wire_id):
        inv = self.inflight.get(wire_id)
        if inv is None:
            return
        inv.ctx.cancel_event.set()
        # An async handler gets CancelledError; a sync one keeps running in its thread (it can watch
        # ctx.cancelled), but CANCELLED goes out at once and what it returns later is dropped.
        if inv.task is not None:
            inv.task.cancel()
        else:
            self.failed(wire_id, inv, asyncio.CancelledError())


def _request(meta, body):
    return Request(meta.get("method", "GET"), meta.get("url", "http://localhost/"), meta.get("headers") or [], body)


def _settle(future, value, err):
    if future.cancelled():
        return
    if err is None:
        future.set_result(value)
    else:
        future.set_exception(err)


_PLUMBING = (HERE + os.sep, os.path.dirname(asyncio.__file__) + os.sep, os.path.dirname(threading.__file__) + os.sep)


def user_traceback(err):
    """The traceback of an exception from user code, without the bridge's and the executor's frames."""
    try:
        tb = err.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PLUMBING + ("<frozen ",)):
            tb = tb.tb_next
        return "".join(traceback.format_exception(type(err), err, tb or err.__traceback__))
    except BaseException:
        return None
