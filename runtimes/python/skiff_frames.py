"""Runtime protocol v1 framing for the Python bridge (docs/runtime-protocol.md, section 2).

A frame is: u32 BE length of the rest, u8 kind, u32 BE stream id, u32 BE meta length, the meta
(a UTF-8 JSON object; length 0 means {}), then the body bytes. Stdlib only.

FrameReader cuts frames off the bytes a reader thread receives; FrameSender writes frames from any
thread to the (blocking) socket, several frames in one write when they pile up.
"""

import json
import struct
from json.encoder import encode_basestring_ascii as _quote
import threading
import time

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
_LENGTH = struct.Struct(">I")
_REST = struct.Struct(">BII")
# One encoder and decoder for every frame (json.dumps with arguments builds an encoder per call).
_encode_meta = json.JSONEncoder(separators=(",", ":")).encode
_decode_meta = json.JSONDecoder().decode
# Bytes asked of the socket per read.
READ_BYTES = 256 * 1024


class ProtocolError(Exception):
    """The peer broke the framing rules: the bridge exits with code 70."""


def encode_frame(kind, wire_id, meta=None, body=b""):
    return _frame(kind, wire_id, b"" if meta is None else _encode_meta(meta).encode("utf-8"), body)


def encode_result(wire_id, status, headers, body):
    """A RESULT frame; its meta is what encode_frame writes for {"status", "headers"}, made directly
    for the usual int status and [str, str] header pairs."""
    try:
        pairs = ",".join(["[%s,%s]" % (_quote(name), _quote(value)) for name, value in headers])
        meta = ('{"status":%d,"headers":[%s]}' % (status, pairs)).encode("ascii")
    except (TypeError, ValueError):
        return encode_frame(RESULT, wire_id, {"status": status, "headers": headers}, body)
    return _frame(RESULT, wire_id, meta, body)


_LOG_META = {}  # (stream, level) -> its LOG meta bytes: a handful of pairs


def encode_log(wire_id, stream, level, body):
    """A LOG frame, its meta as encode_frame writes {"stream", "level"}."""
    meta = _LOG_META.get((stream, level))
    if meta is None:
        meta = _encode_meta({"stream": stream, "level": level}).encode("utf-8")
        if len(_LOG_META) < 64:
            _LOG_META[(stream, level)] = meta
    return _frame(LOG, wire_id, meta, body)


def _frame(kind, wire_id, meta_bytes, body):
    if type(body) is not bytes:
        body = bytes(body)
    total = HEADER_BYTES + len(meta_bytes) + len(body)
    if total > MAX_FRAME_BYTES:
        raise ValueError("frame of %d bytes exceeds %d" % (total, MAX_FRAME_BYTES))
    return b"".join((_HEAD.pack(total - 4, kind, wire_id & 0xFFFFFFFF, len(meta_bytes)), meta_bytes, body))


def _meta(data):
    try:
        meta = _decode_meta(data.decode("utf-8"))
    except ValueError as err:  # UnicodeDecodeError is one
        raise ProtocolError("frame meta is not JSON: %s" % err) from None
    if not isinstance(meta, dict):
        raise ProtocolError("frame meta is not a JSON object")
    return meta


class FrameReader:
    """Cuts whole frames off a byte stream fed in pieces of any size."""

    def __init__(self):
        self._parts = []  # bytes of an unfinished frame
        self._have = 0  # their total length
        self._need = 0  # bytes the unfinished frame needs to be whole (4 while its length is unknown)

    def feed(self, data):
        """The frames completed by `data`, as (kind, id, meta, body) tuples; raises ProtocolError."""
        if self._parts:
            self._have += len(data)
            self._parts.append(data)
            if self._have < self._need:
                return []  # a large frame arriving in pieces is joined once, when it is whole
            data = b"".join(self._parts)
            self._parts = []
        end = len(data)
        pos = 0
        frames = []
        while end - pos >= 4:
            length = _LENGTH.unpack_from(data, pos)[0] + 4
            if length < HEADER_BYTES or length > MAX_FRAME_BYTES:
                raise ProtocolError("invalid frame length %d" % length)
            if end - pos < length:
                self._need = length
                break
            kind, wire_id, meta_len = _REST.unpack_from(data, pos + 4)
            start = pos + HEADER_BYTES
            if HEADER_BYTES + meta_len > length:
                raise ProtocolError("frame meta overruns the frame")
            meta = _meta(data[start : start + meta_len]) if meta_len else {}
            frames.append((kind, wire_id, meta, data[start + meta_len : pos + length]))
            pos += length
        else:
            self._need = 4
        if pos < end:
            self._parts = [data[pos:]]
            self._have = end - pos
        return frames


class FrameSender:
    """Thread-safe frame writer on a blocking socket.

    A thread that finds no write in progress writes its frame at once, and goes on writing whatever
    other threads queued meanwhile, joined into one write; frames sent on the loop thread are written
    once per loop iteration. Frames from one thread keep their order.
    """

    def __init__(self, loop, sock):
        self._loop = loop
        self._sock = sock
        self._lock = threading.Lock()
        self._pending = []
        self._writing = False
        self._scheduled = False
        self._broken = False
        self._loop_thread = threading.get_ident()

    def send(self, kind, wire_id, meta=None, body=b""):
        """Raises ValueError (before anything is queued) when the frame is over the size limit."""
        self.send_frame(encode_frame(kind, wire_id, meta, body))

    def send_frame(self, frame):
        with self._lock:
            if self._broken:
                return
            self._pending.append(frame)
            if self._writing:
                return  # the thread writing takes it along
            if threading.get_ident() == self._loop_thread:
                if not self._scheduled:
                    self._scheduled = True
                    self._loop.call_soon(self._flush_soon)
                return
            self._writing = True
        self._drain()

    def _flush_soon(self):
        with self._lock:
            self._scheduled = False
            if self._writing or not self._pending:
                return
            self._writing = True
        self._drain()

    def _drain(self):
        """Writes until nothing is pending; only the thread that set _writing calls it."""
        while True:
            with self._lock:
                frames = self._pending
                if not frames or self._broken:
                    self._pending = []
                    self._writing = False
                    return
                self._pending = []
            try:
                self._sock.sendall(frames[0] if len(frames) == 1 else b"".join(frames))
            except OSError:
                with self._lock:
                    self._broken = True  # the platform is gone: the reader sees the end and exits

    def flush(self, timeout=0.2):
        """Writes what is pending now (waiting up to `timeout` seconds for a write in progress)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._writing:
                    self._writing = True
                    break
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
        self._drain()
