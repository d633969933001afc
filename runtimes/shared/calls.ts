/**
 * The bridge's side of calls between functions (docs/runtime-protocol.md, "Calls"): CALL frames out
 * under call ids of the bridge's own (apart from the platform's INVOKE wire ids), REPLY and FAIL back.
 * CAST frames (`cast`) and STATE frames (state.ts) go out through `request` under the same counter:
 * one call id space.
 */
import { FrameKind, MAX_META_BYTES, type FrameWriter } from '../../src/executor/protocol/frames.js';
import type {
  CallMeta,
  CastMeta,
  FailMeta,
  HeaderPairs,
  ReplyMeta,
} from '../../src/executor/protocol/messages.js';

export interface CallReply {
  status: number;
  headers: HeaderPairs;
  body: Buffer;
}

/** A call the platform refused or could not complete; `code` is a stable SKIFF_E_* code. */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Waiting {
  resolve: (reply: CallReply) => void;
  reject: (err: CallError) => void;
}

export class CallClient {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  /** `maxBodyBytes`: the largest body the platform reads in a frame from this bridge (its response limit). */
  constructor(
    private readonly writer: FrameWriter,
    private readonly maxBodyBytes: number,
  ) {}

  call(meta: CallMeta, body: Uint8Array): Promise<CallReply> {
    return this.request(FrameKind.CALL, meta, body);
  }

  /** Sends a CAST; resolves with the ids of the invocations queued (none: an alias mapped to nowhere). */
  async cast(meta: CastMeta, body: Uint8Array): Promise<string[]> {
    const reply = await this.request(FrameKind.CAST, meta, body);
    try {
      const { ids } = JSON.parse(reply.body.toString('utf8')) as { ids?: unknown };
      if (Array.isArray(ids) && ids.every((id) => typeof id === 'string')) return ids;
    } catch {
      // answered below
    }
    throw new CallError('SKIFF_E_PROTOCOL', 'the platform answered a cast without the ids it queued');
  }

  /** Sends a frame of `kind` under the next call id and resolves with its REPLY (rejects on FAIL). */
  request(kind: number, meta: object, body: Uint8Array): Promise<CallReply> {
    // a frame over the platform's limits would end this instance: refuse it here
    if (body.length > this.maxBodyBytes) {
      const message = `the call's body of ${body.length} bytes is larger than the limit of ${this.maxBodyBytes} bytes`;
      return Promise.reject(new CallError('SKIFF_E_PAYLOAD_TOO_LARGE', message));
    }
    const metaBytes = Buffer.byteLength(JSON.stringify(meta));
    if (metaBytes > MAX_META_BYTES) {
      const message = `the call's headers take ${metaBytes} bytes, more than the limit of ${MAX_META_BYTES}`;
      return Promise.reject(new CallError('SKIFF_E_PAYLOAD_TOO_LARGE', message));
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return new Promise<CallReply>((resolve, reject) => {
      try {
        this.writer.send(kind, id, meta, body);
      } catch (err) {
        reject(new CallError('SKIFF_E_PAYLOAD_TOO_LARGE', (err as Error).message));
        return;
      }
      this.waiting.set(id, { resolve, reject });
    });
  }

  onReply(id: number, meta: ReplyMeta, body: Buffer): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    w.resolve({ status: meta.status, headers: meta.headers, body });
  }

  onFail(id: number, meta: FailMeta): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    w.reject(new CallError(meta.code, meta.message));
  }
}
