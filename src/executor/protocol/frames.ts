/**
 * Runtime protocol v1 frame codec (see docs/runtime-protocol.md). Shared by the platform and the Node
 * bridge. A frame is:
 *
 *   u32 BE  length of the rest of the frame (13 + metaLength + bodyLength − 4)
 *   u8      kind
 *   u32 BE  stream id (the invocation's wire id; 0 for instance-wide messages)
 *   u32 BE  metaLength
 *   bytes   meta: UTF-8 JSON object (metaLength bytes, 0 means {})
 *   bytes   body: raw bytes (the rest)
 */
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 13;
/** Bodies may be up to 64 MiB (the configurable maximum); a frame adds its header and meta. */
export const MAX_FRAME_BYTES = 65 * 1024 * 1024;
/** The largest meta a bridge may send (headers, an error's message and stack): 1 MiB. */
export const MAX_META_BYTES = 1024 * 1024;

/**
 * The largest frame the platform accepts from an instance whose responses may be `maxResponseBytes`
 * long: the body, the header and room for the meta.
 */
export function maxBridgeFrameBytes(maxResponseBytes: number): number {
  return Math.min(MAX_FRAME_BYTES, maxResponseBytes + MAX_META_BYTES + HEADER_BYTES);
}

export const FrameKind = {
  HELLO: 1,
  INIT: 2,
  READY: 3,
  INVOKE: 4,
  RESULT: 5,
  ERROR: 6,
  LOG: 7,
  CANCEL: 8,
  SHUTDOWN: 9,
  PING: 10,
  PONG: 11,
  /** Bridge → platform: a call to another function; its id is a call id the bridge chose. */
  CALL: 12,
  /** Platform → bridge: the called function's response, under the CALL's call id. */
  REPLY: 13,
  /** Platform → bridge: the platform refused or could not complete a CALL (a stable error code). */
  FAIL: 14,
  /**
   * Bridge → platform: a cast (a durable, asynchronous invocation of another function) in the same call
   * id space as CALL; answered by REPLY (the accepted ids) or FAIL.
   */
  CAST: 15,
  /** Bridge → platform: a get, set, delete or list on the calling function's state (a call id too). */
  STATE: 16,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Frame {
  kind: number;
  id: number;
  meta: Record<string, unknown>;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

export function encodeFrame(kind: number, id: number, meta?: object | string, body?: Uint8Array): Buffer {
  // the meta is written straight into the frame: no buffer of its own to copy and collect
  const metaText = metaJson(meta);
  const metaLength = metaText === '' ? 0 : Buffer.byteLength(metaText, 'utf8');
  const bodyBytes = body ?? EMPTY;
  const total = HEADER_BYTES + metaLength + bodyBytes.length;
  if (total > MAX_FRAME_BYTES) throw new RangeError(`frame of ${total} bytes exceeds ${MAX_FRAME_BYTES}`);
  const out = Buffer.allocUnsafe(total);
  writeHeader(out, 0, total, kind, id, metaLength);
  if (metaLength > 0) out.write(metaText, HEADER_BYTES, metaLength, 'utf8');
  if (bodyBytes.length > 0) out.set(bodyBytes, HEADER_BYTES + metaLength);
  return out;
}

/** A frame's meta as JSON text: an object is serialised, a string is taken as the JSON of one. */
function metaJson(meta: object | string | undefined): string {
  return meta === undefined ? '' : typeof meta === 'string' ? meta : JSON.stringify(meta);
}

function writeHeader(
  out: Buffer,
  at: number,
  total: number,
  kind: number,
  id: number,
  metaLength: number,
): void {
  out.writeUInt32BE(total - 4, at);
  out.writeUInt8(kind, at + 4);
  out.writeUInt32BE(id >>> 0, at + 5);
  out.writeUInt32BE(metaLength, at + 9);
}

/** A frame the peer announced is over the limit: thrown from its first 9 bytes, before its body. */
export class FrameTooLargeError extends RangeError {
  constructor(
    readonly kind: number,
    readonly id: number,
    readonly length: number,
    readonly limit: number,
  ) {
    super(`a frame of ${length} bytes (kind ${kind}, id ${id}) is larger than the limit of ${limit} bytes`);
  }
}

export interface DecoderLimits {
  /** The largest whole frame (including the length field); at most MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
  /** The largest meta; no limit beyond the frame's by default. */
  maxMetaBytes?: number;
}

/**
 * Incremental decoder: push chunks as they arrive, get whole frames back. A frame's length is checked
 * from its prefix, so a frame over the limit is refused before its bytes are buffered; after a throw
 * the decoder is unusable (the stream is mid-frame) and the connection must end.
 */
export class FrameDecoder {
  /** Bytes received and not decoded yet: `chunks[0]` from `offset` on, then the other chunks. */
  private chunks: Buffer[] = [];
  private offset = 0;
  private buffered = 0;
  private readonly maxFrameBytes: number;
  private readonly maxMetaBytes: number;

  constructor(limits: DecoderLimits = {}) {
    this.maxFrameBytes = Math.min(limits.maxFrameBytes ?? MAX_FRAME_BYTES, MAX_FRAME_BYTES);
    this.maxMetaBytes = limits.maxMetaBytes ?? MAX_FRAME_BYTES;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const length = this.peek(4).readUInt32BE(this.offset) + 4;
      if (length < HEADER_BYTES) throw new RangeError(`invalid frame length ${length}`);
      if (length > this.maxFrameBytes) {
        // the kind and id say whose frame it was (a RESULT over the limit fails its invocation)
        if (this.buffered < 9) break;
        const head = this.peek(9);
        throw new FrameTooLargeError(
          head.readUInt8(this.offset + 4),
          head.readUInt32BE(this.offset + 5),
          length,
          this.maxFrameBytes,
        );
      }
      if (this.buffered >= HEADER_BYTES) {
        const metaLength = this.peek(HEADER_BYTES).readUInt32BE(this.offset + 9);
        if (metaLength > this.maxMetaBytes) {
          throw new RangeError(`a frame meta of ${metaLength} bytes is larger than ${this.maxMetaBytes}`);
        }
      }
      if (this.buffered < length) break;
      // decoded where it lies: the frame's body is the only view made of it
      const buf = this.peek(length);
      const start = this.offset;
      this.offset += length;
      this.buffered -= length;
      if (this.offset === buf.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      frames.push(decodeFrame(buf, start, start + length));
    }
    return frames;
  }

  /** The first chunk, holding at least `n` bytes from `offset` (the chunks joined if need be). */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.offset >= n) return first;
    const joined = Buffer.concat([first.subarray(this.offset), ...this.chunks.slice(1)]);
    this.chunks = [joined];
    this.offset = 0;
    return joined;
  }
}

function decodeFrame(buf: Buffer, start: number, end: number): Frame {
  const kind = buf.readUInt8(start + 4);
  const id = buf.readUInt32BE(start + 5);
  const metaLength = buf.readUInt32BE(start + 9);
  if (HEADER_BYTES + metaLength > end - start) throw new RangeError('frame meta overruns the frame');
  const metaEnd = start + HEADER_BYTES + metaLength;
  const meta: unknown =
    metaLength === 0 ? {} : JSON.parse(buf.toString('utf8', start + HEADER_BYTES, metaEnd));
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new TypeError('frame meta is not a JSON object');
  }
  return { kind, id, meta: meta as Record<string, unknown>, body: buf.subarray(metaEnd, end) };
}

/**
 * When a `FrameWriter` writes what was queued: `tick` once the current operation is done
 * (`process.nextTick`), `turn` once per turn of the event loop (`setImmediate`), so that the frames
 * queued by every request read in that turn leave in one write. The platform writes per turn: at
 * one request at a time it adds no turn of the loop (the check phase follows the poll phase that
 * read the request), and under load one write carries the INVOKEs of many connections.
 */
export type FlushSchedule = 'tick' | 'turn';

/** Frames up to this size (their meta at its longest in UTF-8) are encoded into the writer's slab. */
const SLAB_FRAME_MAX_BYTES = 4096;
const SLAB_BYTES = 16 * 1024;

/** Batches frame writes: frames written in one tick (or turn) leave in one write call. */
export class FrameWriter {
  /** What the next write carries, in order: runs of small frames (views of a slab), larger frames. */
  private pending: Buffer[] = [];
  /**
   * Small frames are encoded one after another into a slab, so that a batch of them is one view of
   * it (no buffer per frame, nothing to join); a slab is never written over, a full one is replaced.
   */
  private slab: Buffer = EMPTY;
  private slabUsed = 0;
  /** Where the frames of the slab not yet in `pending` start. */
  private runStart = 0;
  private sentHooks: (() => void)[] = [];
  private scheduled = false;
  /** Writes handed to the stream whose completion was not reported yet. */
  private outstanding = 0;
  /** Hooks of frames the stream holds back until the writes ahead of them are done. */
  private heldBack: (() => void)[] = [];
  private readonly flushLater: () => void;

  constructor(
    private readonly sink: {
      write(data: Buffer, cb?: (err?: Error | null) => void): unknown;
      destroyed?: boolean;
    },
    schedule: FlushSchedule = 'tick',
  ) {
    const flush = (): void => this.flush();
    this.flushLater = schedule === 'turn' ? () => void setImmediate(flush) : () => process.nextTick(flush);
  }

  /**
   * Queues a frame (its meta an object, or the JSON text of one); `sent` is called once its bytes are
   * on their way to the operating system (no write ahead of it is still held in this process), from
   * when on the peer may have read them. A stream dispatches what it buffered as soon as the write in
   * progress completes, so the hooks of a held back write run then; they run late rather than early.
   * Throws a RangeError, queueing nothing, for a frame over MAX_FRAME_BYTES.
   */
  send(kind: number, id: number, meta?: object | string, body?: Uint8Array, sent?: () => void): void {
    this.queue(kind, id, metaJson(meta), body ?? EMPTY);
    if (sent !== undefined) this.sentHooks.push(sent);
    if (this.scheduled) return;
    this.scheduled = true;
    this.flushLater();
  }

  flush(): void {
    this.scheduled = false;
    const hooks = this.sentHooks;
    this.sentHooks = [];
    this.endRun();
    if (this.pending.length === 0 || this.sink.destroyed === true) {
      this.pending = [];
      return;
    }
    const data = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    const dispatchedNow = this.outstanding === 0;
    this.outstanding++;
    if (!dispatchedNow) this.heldBack.push(...hooks);
    this.sink.write(data, (err) => {
      this.outstanding--;
      const held = this.heldBack;
      this.heldBack = [];
      // the stream has now dispatched everything it held back (or failed: then nothing counts as sent)
      if (err === undefined || err === null) for (const hook of held) hook();
    });
    if (dispatchedNow) for (const hook of hooks) hook();
  }

  private queue(kind: number, id: number, metaText: string, body: Uint8Array): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit
    const longest = HEADER_BYTES + metaText.length * 3 + body.length;
    if (longest > SLAB_FRAME_MAX_BYTES) {
      const frame = encodeFrame(kind, id, metaText, body);
      this.endRun();
      this.pending.push(frame);
      return;
    }
    if (this.slabUsed + longest > this.slab.length) {
      this.endRun();
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabUsed = 0;
      this.runStart = 0;
    }
    const at = this.slabUsed;
    const metaLength = metaText === '' ? 0 : this.slab.write(metaText, at + HEADER_BYTES, 'utf8');
    const total = HEADER_BYTES + metaLength + body.length;
    writeHeader(this.slab, at, total, kind, id, metaLength);
    if (body.length > 0) this.slab.set(body, at + HEADER_BYTES + metaLength);
    this.slabUsed = at + total;
  }

  /** The frames of the slab not yet in `pending` go there, as one view. */
  private endRun(): void {
    if (this.slabUsed === this.runStart) return;
    this.pending.push(this.slab.subarray(this.runStart, this.slabUsed));
    this.runStart = this.slabUsed;
  }
}
