"""Runtime protocol v1 framing for the Python bridge (docs/runtime-protocol.md, section 2).

A frame is: u32 BE length of the rest, u8 kind, u32 BE stream id, u32 BE meta length, the meta
(a UTF-8 JSON object; length 0 means {}), then the body bytes. Stdlib only.
"""

import json
import struct
import threading

PROTOCOL_VERSION = 1
HEADER_BYTES = 13
# Kept equal to MAX_FRAME_BYTES in src/executor/protocol/frames.ts.
MAX_FRAME_BYTES = 65 * 1024 * 1024

HELLO = 1
INIT = 2
READY = 3
INVOKE = 4
RESULT = 5
ERROR = 6
LOG = 7
CANCEL = 8
SHUTDOWN = 9
PING = 10
PONG = 11
CALL = 12
REPLY = 13
FAIL = 14
CAST = 15
STATE = 16

_HEAD = struct.Struct(">IBII")


class ProtocolError(Exception):
    """The peer broke the framing rules: the bridge exits with code 70."""


def encode_frame(kind, wire_id, meta=None, body=b""):
    meta_bytes = b"" if meta is None else json.dumps(meta, separators=(",", ":")).encode("utf-8")
    total = HEADER_BYTES + len(meta_bytes) + len(body)
    if total > MAX_FRAME_BYTES:
        raise ValueError("frame of %d bytes exceeds %d" % (total, MAX_FRAME_BYTES))
    return b"".join((_HEAD.pack(total - 4, kind, wire_id & 0xFFFFFFFF, len(meta_bytes)), meta_bytes, bytes(body)))


def frame_length(head):
    """Whole frame size (including the 4-byte length field) announced by its first 4 bytes."""
    length = struct.unpack(">I", head)[0] + 4
    if length < HEADER_BYTES or length > MAX_FRAME_BYTES:
        raise ProtocolError("invalid frame length %d" % length)
    return length


def decode_frame(head, rest):
    """Decodes one frame from its 4-byte head and the bytes that follow; returns (kind, id, meta, body)."""
    kind, wire_id, meta_len = struct.unpack(">BII", rest[:9])
    if 9 + meta_len > len(rest):
        raise ProtocolError("frame meta overruns the frame")
    if meta_len == 0:
        meta = {}
    else:
        try:
            meta = json.loads(rest[9 : 9 + meta_len].decode("utf-8"))
        except ValueError as err:
            raise ProtocolError("frame meta is not JSON: %s" % err) from None
        if not isinstance(meta, dict):
            raise ProtocolError("frame meta is not a JSON object")
    return kind, wire_id, meta, rest[9 + meta_len :]


async def read_frame(reader):
    """Reads one frame; raises asyncio.IncompleteReadError at end-of-file."""
    head = await reader.readexactly(4)
    length = frame_length(head)
    rest = await reader.readexactly(length - 4)
    return decode_frame(head, rest)


class FrameSender:
    """Thread-safe frame writer: frames sent in one loop iteration leave in one write.

    Any thread may call send(); off the loop thread the frame is handed over with
    call_soon_threadsafe, so frames from one thread keep their order.
    """

    def __init__(self, loop, writer):
        self._loop = loop
        self._writer = writer
        self._pending = []
        self._scheduled = False
        self._loop_thread = threading.get_ident()

    def send(self, kind, wire_id, meta=None, body=b""):
        frame = encode_frame(kind, wire_id, meta, body)
        if threading.get_ident() == self._loop_thread:
            self._queue(frame)
        else:
            try:
                self._loop.call_soon_threadsafe(self._queue, frame)
            except RuntimeError:
                pass  # the loop is closed: the bridge is exiting

    def _queue(self, frame):
        self._pending.append(frame)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self):
        self._scheduled = False
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._writer.is_closing():
            self._writer.write(data)
