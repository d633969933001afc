"""Output of user code in the Python bridge: sys.stdout / sys.stderr replaced by writers whose text
becomes LOG frames of the invocation that wrote it (docs/runtime-protocol.md)."""

import contextvars
import io
import threading

from skiff_openruntimes_runtime import LOGGING_OFF

# Output without a final newline is held back up to this many characters per invocation.
MAX_BUFFERED = 16 * 1024
# The loop thread uses it to find the invocation that is writing output.
current_id = contextvars.ContextVar("skiff_wire_id", default=0)


class LogWriter(io.TextIOBase):
    """Replaces sys.stdout / sys.stderr: output becomes LOG frames of the invocation that wrote it (wire
    id from current_id; 0 outside an invocation). Text is sent when a write leaves it ending in a
    newline, so one print() (even of several lines) is one log line; flush() sends what is pending."""

    def __init__(self, bridge, stream, level):
        super().__init__()
        self._bridge = bridge
        self._stream = stream
        self._level = level
        self._lock = threading.Lock()
        self._buffers = {}

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "replace"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if LOGGING_OFF.get():  # an Open Runtimes invocation sent with x-open-runtimes-logging: disabled
            return len(text)
        wire_id = current_id.get()
        with self._lock:
            buffered = self._buffers.get(wire_id, "") + text
            if buffered.endswith("\n"):
                out, rest = buffered[:-1], ""
            elif len(buffered) > MAX_BUFFERED and "\n" in buffered:
                end = buffered.rfind("\n")
                out, rest = buffered[:end], buffered[end + 1 :]
            elif len(buffered) > MAX_BUFFERED:
                out, rest = buffered, ""  # a long line without a newline: sent (cut) rather than held
            else:
                self._buffers[wire_id] = buffered
                return len(text)
            if rest:
                self._buffers[wire_id] = rest
            else:
                self._buffers.pop(wire_id, None)
        self._bridge.log(wire_id, self._stream, self._level, out)
        return len(text)

    def flush(self):
        self.flush_id(current_id.get())

    def flush_id(self, wire_id):
        if not self._buffers:  # the usual case, on every answer: nothing held back, no lock taken
            return
        with self._lock:
            rest = self._buffers.pop(wire_id, "")
        if rest:
            self._bridge.log(wire_id, self._stream, self._level, rest)
