/**
 * The bridge's side of function state (docs/runtime-protocol.md, "State"): STATE frames out under call
 * ids of the CALL counter (one id space, `CallClient.request`), REPLY or FAIL back. Bytes and versions
 * only; a language's bridge turns them into its values (runtimes/node/state.ts).
 */
import { FrameKind, MAX_META_BYTES } from '../../src/executor/protocol/frames.js';
import type { StateMeta } from '../../src/executor/protocol/messages.js';
import { CallError, type CallClient, type CallReply } from './calls.js';

/** A state operation the platform refused; `code` is a stable SKIFF_E_* code (SKIFF_E_STATE_CONFLICT …). */
export class StateError extends Error {
  override readonly name = 'StateError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StateValue {
  value: Buffer;
  version: number;
  contentType: string;
}

export interface StateKey {
  key: string;
  version: number;
  /** Bytes of the value. */
  size: number;
  contentType: string;
  updatedAt: string;
}

export type WireContentType = 'application/json' | 'application/octet-stream';

const header = (reply: CallReply, name: string): string | undefined =>
  reply.headers.find(([key]) => key.toLowerCase() === name)?.[1];

/** The state operations of one invocation (`invocationId` as INVOKE gave it) at the frame level. */
export class StateFrames {
  constructor(
    private readonly client: CallClient,
    private readonly invocationId: string,
    /** The largest body this bridge may send in a frame (its response limit). */
    private readonly maxBodyBytes: number,
  ) {}

  async get(key: string): Promise<StateValue | null> {
    try {
      const reply = await this.send({ op: 'get', key });
      return {
        value: reply.body,
        version: Number(header(reply, 'x-skiff-state-version') ?? 0),
        contentType: header(reply, 'content-type') ?? 'application/octet-stream',
      };
    } catch (err) {
      if (err instanceof StateError && err.code === 'SKIFF_E_STATE_NOT_FOUND') return null;
      throw err;
    }
  }

  async set(key: string, value: Buffer, contentType: WireContentType, ifVersion?: number): Promise<number> {
    if (value.length > this.maxBodyBytes) {
      throw new StateError(
        'SKIFF_E_STATE_TOO_LARGE',
        `the value is ${value.length} bytes, more than a frame of this instance may carry (${this.maxBodyBytes} bytes)`,
      );
    }
    const reply = await this.send(
      { op: 'set', key, contentType, ...(ifVersion === undefined ? {} : { ifVersion }) },
      value,
    );
    return Number(header(reply, 'x-skiff-state-version') ?? 0);
  }

  async delete(key: string, ifVersion?: number): Promise<boolean> {
    const reply = await this.send({ op: 'delete', key, ...(ifVersion === undefined ? {} : { ifVersion }) });
    return (JSON.parse(reply.body.toString('utf8')) as { deleted: boolean }).deleted;
  }

  /** Every key with the prefix, page after page, in key order. */
  async list(prefix?: string): Promise<StateKey[]> {
    const keys: StateKey[] = [];
    let after: string | null = null;
    do {
      const reply: CallReply = await this.send({
        op: 'list',
        ...(prefix === undefined ? {} : { prefix }),
        ...(after === null ? {} : { key: after }),
      });
      const page = JSON.parse(reply.body.toString('utf8')) as { keys: StateKey[]; next: string | null };
      keys.push(...page.keys);
      after = page.next;
    } while (after !== null);
    return keys;
  }

  private async send(op: Omit<StateMeta, 'invocationId'>, body?: Buffer): Promise<CallReply> {
    // a meta the platform's schema refuses would end this instance: JSON turns NaN into null
    const v = op.ifVersion;
    if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) {
      throw new StateError('SKIFF_E_INVALID_REQUEST', `ifVersion is a whole number from 0, not ${String(v)}`);
    }
    const meta: StateMeta = { invocationId: this.invocationId, ...op };
    if (Buffer.byteLength(JSON.stringify(meta)) > MAX_META_BYTES) {
      throw new StateError('SKIFF_E_INVALID_STATE_KEY', 'the state key is too long');
    }
    try {
      return await this.client.request(FrameKind.STATE, meta, body ?? Buffer.alloc(0));
    } catch (err) {
      if (err instanceof CallError) throw new StateError(err.code, err.message);
      throw err;
    }
  }
}
