/**
 * Block-wise transfer (RFC 7959) for the CoAP trigger, kept by the adapter itself: the `coap`
 * package keys its Block1 reassembly and its Block2 cache by the request's token, but clients may
 * change the token from block to block (libcoap does, and sends RFC 9175's Request-Tag instead), so
 * both are keyed here by the client's endpoint and the request (method, URI, Request-Tag), with caps
 * on size, count and time.
 */
import { SkiffError } from '../shared/errors.js';
import { clientKey } from '../shared/listeners.js';

/**
 * The group a UDP source address counts under for the per-client caps: its IPv4 /24 (also when it
 * arrives IPv4-mapped) or its IPv6 /48. One host (one user on it) can send from every address of
 * 127.0.0.0/8, or from a whole routed prefix, so a single address is too fine a unit.
 */
export function clientGroup(address: string | undefined): string {
  const key = clientKey(address);
  const v4 = /^(\d+\.\d+\.\d+)\.\d+$/.exec(key);
  if (v4 !== null) return `${v4[1] as string}.0/24`;
  const v6 = /^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):[0-9a-f]+::\/64$/i.exec(key);
  if (v6 !== null) return `${v6[1] as string}::/48`;
  return key;
}

/** A decoded Block1 or Block2 option. */
export interface BlockOption {
  num: number;
  more: boolean;
  /** Size exponent: the block size is 2 ** (szx + 4) bytes, 16 to 1024. */
  szx: number;
  size: number;
}

/** Decodes a block option (0-3 bytes); `undefined` when malformed or BERT (szx 7, TCP only). */
export function parseBlock(value: Buffer): BlockOption | undefined {
  if (value.length > 3) return undefined;
  const raw = value.length === 0 ? 0 : value.readUIntBE(0, value.length);
  const szx = raw & 7;
  if (szx === 7) return undefined;
  return { num: raw >>> 4, more: (raw & 8) !== 0, szx, size: 2 ** (szx + 4) };
}

/** Encodes a block option in as few bytes as its number needs. */
export function encodeBlock(block: { num: number; more: boolean; szx: number }): Buffer {
  return encodeUint(block.num * 16 + (block.more ? 8 : 0) + block.szx);
}

/** An unsigned option value in as few bytes as possible (0 → zero bytes, RFC 7252 §3.2). */
export function encodeUint(value: number): Buffer {
  const bytes: number[] = [];
  for (let v = Math.max(0, Math.floor(value)); v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

/** Decodes an unsigned option value; one longer than 6 bytes reads as the largest safe integer. */
export function decodeUint(value: Buffer): number {
  if (value.length > 6) return Number.MAX_SAFE_INTEGER;
  return value.length === 0 ? 0 : value.readUIntBE(0, value.length);
}

export interface AssemblerLimits {
  /** Largest reassembled payload. */
  maxBytes: number;
  /** Uploads in progress at once, over all clients. */
  maxTransfers: number;
  /** Uploads in progress at once from one client address; its oldest is dropped for a new one. */
  maxPerClient: number;
  /** Bytes held for one client address's uploads; its oldest are dropped to stay within. */
  maxClientBytes: number;
  /** Bytes held for all uploads; over it the idlest upload of the client holding most is dropped. */
  maxTotalBytes: number;
  /** An upload is dropped when no block came for this long... */
  idleMs: number;
  /** ...or this long while it has fewer than STARTING_BLOCKS blocks (a client mid-upload sends at once)... */
  startIdleMs: number;
  /** ...or when it is older than this. */
  lifetimeMs: number;
}

/** What one Block1 block leads to. */
export type Block1Outcome =
  | { kind: 'continue'; echo: Buffer }
  | { kind: 'complete'; body: Buffer; echo: Buffer }
  | { kind: 'error'; error: SkiffError; coapCode?: string };

interface Upload {
  address: string;
  chunks: Buffer[];
  /** Bytes received so far: the offset the next new block starts at. */
  next: number;
  started: number;
  touched: number;
  /** Blocks that added bytes. */
  blocks: number;
}

/** An upload with fewer blocks than this is starting: it is dropped after `startIdleMs` without one. */
export const STARTING_BLOCKS = 4;

const busy = (): Block1Outcome => ({
  kind: 'error',
  error: new SkiffError(
    'SKIFF_E_TOO_MANY_REQUESTS',
    'too many block-wise uploads are in progress; retry later',
    {
      retryAfterSec: 1,
    },
  ),
});

/**
 * Reassembles Block1 uploads, refusing one as soon as it would pass `maxBytes` (4.13). One client
 * (the `address` given: a group such as `clientGroup`'s) holds at most `maxPerClient` uploads and
 * `maxClientBytes`: a new upload or a new block beyond that pushes out that client's oldest uploads,
 * never another client's. Over all clients, `maxTransfers` and `maxTotalBytes` push out the idlest
 * upload of the client holding the most (count or bytes), so that a crowd of uploads kept barely
 * alive can only push out its own kind and a new client's upload always gets in; only when nothing
 * else can go is a block refused (5.03). Uploads that stall are dropped: after `startIdleMs` while
 * they have sent fewer than STARTING_BLOCKS blocks, after `idleMs` once they progress.
 */
export class BlockAssembler {
  private readonly uploads = new Map<string, Upload>();
  private totalBytes = 0;
  /** Uploads pushed out by a newer one of the same address (for tests and the log). */
  evicted = 0;

  constructor(
    private readonly limits: AssemblerLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Uploads in progress (for tests and the log). */
  get size(): number {
    return this.uploads.size;
  }

  /**
   * Takes one block of the upload `key` from the client at `address`; `size1` is the total size the
   * client announced, if it did.
   */
  accept(key: string, address: string, block: BlockOption, payload: Buffer, size1?: number): Block1Outcome {
    const now = this.now();
    this.prune(now);
    const offset = block.num * block.size;
    const end = offset + payload.length;
    if (end > this.limits.maxBytes || (size1 !== undefined && size1 > this.limits.maxBytes)) {
      this.remove(key);
      return {
        kind: 'error',
        error: new SkiffError(
          'SKIFF_E_PAYLOAD_TOO_LARGE',
          `the request payload is larger than the limit of ${this.limits.maxBytes} bytes`,
        ),
      };
    }
    if (block.more && payload.length !== block.size) {
      this.remove(key);
      return invalid(`block ${block.num} has the More flag but ${payload.length} bytes, not ${block.size}`);
    }
    const echo = encodeBlock(block);
    const upload = this.uploads.get(key);
    if (block.num === 0) {
      this.remove(key);
      if (!block.more) return { kind: 'complete', body: payload, echo };
      this.makeRoom(address, key, 1, end);
      if (!this.makeGlobalRoom(key, 1, end)) return busy();
      this.uploads.set(key, { address, chunks: [payload], next: end, started: now, touched: now, blocks: 1 });
      this.totalBytes += end;
      return { kind: 'continue', echo };
    }
    if (upload === undefined || offset > upload.next) {
      this.remove(key);
      return {
        ...invalid(
          `block ${block.num} came without the blocks before it; send the request again from block 0`,
        ),
        coapCode: '4.08',
      };
    }
    upload.touched = now;
    if (end > upload.next) {
      // a retransmitted block adds nothing; a block that overlaps the end adds its new bytes
      const adding = end - upload.next;
      this.makeRoom(address, key, 0, adding);
      if (!this.makeGlobalRoom(key, 0, adding)) {
        this.remove(key);
        return busy();
      }
      upload.chunks.push(payload.subarray(upload.next - offset));
      upload.next = end;
      upload.blocks += 1;
      this.totalBytes += adding;
    }
    if (block.more) return { kind: 'continue', echo };
    this.remove(key);
    return { kind: 'complete', body: Buffer.concat(upload.chunks, upload.next), echo };
  }

  /** Bytes held for uploads in progress (for tests and the log). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Drops uploads that stalled or took too long. */
  prune(now = this.now()): void {
    for (const [key, upload] of this.uploads) {
      const idle = upload.blocks < STARTING_BLOCKS ? this.limits.startIdleMs : this.limits.idleMs;
      if (now - upload.touched > idle || now - upload.started > this.limits.lifetimeMs) {
        this.remove(key);
      }
    }
  }

  clear(): void {
    this.uploads.clear();
    this.totalBytes = 0;
  }

  private remove(key: string): void {
    const upload = this.uploads.get(key);
    if (upload === undefined) return;
    this.uploads.delete(key);
    this.totalBytes -= upload.next;
  }

  /**
   * Drops the oldest uploads of `address` (other than `key`) until it may add `uploads` more and
   * `bytes` more within its caps. Map order is start order: block 0 inserts.
   */
  private makeRoom(address: string, key: string, uploads: number, bytes: number): void {
    let count = 0;
    let held = 0;
    for (const u of this.uploads.values()) {
      if (u.address !== address) continue;
      count += 1;
      held += u.next;
    }
    for (const [oldKey, u] of this.uploads) {
      if (count + uploads <= this.limits.maxPerClient && held + bytes <= this.limits.maxClientBytes) return;
      if (u.address !== address || oldKey === key) continue;
      count -= 1;
      held -= u.next;
      this.remove(oldKey);
      this.evicted += 1;
    }
  }

  /**
   * Over all clients: pushes out the idlest upload (other than `key`) of the client holding the most
   * uploads (for a new one) or bytes (for more bytes) until `uploads` more and `bytes` more fit;
   * false when they cannot.
   */
  private makeGlobalRoom(key: string, uploads: number, bytes: number): boolean {
    for (;;) {
      const countFull = uploads > 0 && this.uploads.size + uploads > this.limits.maxTransfers;
      const bytesFull = this.totalBytes + bytes > this.limits.maxTotalBytes;
      if (!countFull && !bytesFull) return true;
      const victim = this.idlestOfLargest(key, countFull ? 'count' : 'bytes');
      if (victim === undefined) return false;
      this.remove(victim);
      this.evicted += 1;
    }
  }

  /** The idlest upload (not `skip`) of the client with the most uploads or bytes held. */
  private idlestOfLargest(skip: string, by: 'count' | 'bytes'): string | undefined {
    const held = new Map<string, number>();
    for (const [k, u] of this.uploads) {
      if (k === skip) continue;
      held.set(u.address, (held.get(u.address) ?? 0) + (by === 'count' ? 1 : u.next));
    }
    let most = 0;
    for (const n of held.values()) most = Math.max(most, n);
    let victim: string | undefined;
    let touched = Infinity;
    for (const [k, u] of this.uploads) {
      if (k === skip || held.get(u.address) !== most) continue;
      if (u.touched < touched) {
        touched = u.touched;
        victim = k;
      }
    }
    return victim;
  }
}

function invalid(message: string): { kind: 'error'; error: SkiffError } {
  return { kind: 'error', error: new SkiffError('SKIFF_E_INVALID_REQUEST', message) };
}

/** A response kept for its later Block2 blocks. */
export interface StoredResponse {
  code: string;
  options: Record<string, Buffer | Buffer[]>;
  body: Buffer;
}

export interface ResponseStoreLimits {
  maxEntries: number;
  maxBytes: number;
  /** Responses kept for one client address; its oldest goes first. */
  maxPerClient: number;
  /** Bytes kept for one client address; its oldest go first. */
  maxClientBytes: number;
  /** A stored response is dropped when no block of it was asked for this long. */
  idleMs: number;
}

/**
 * Responses larger than one block, kept until their last block is asked for (or they go idle, or
 * newer ones push them out, those of the same client address first), so that the function runs
 * once per request, not once per block.
 */
export class ResponseStore {
  private readonly entries = new Map<
    string,
    { response: StoredResponse; address: string; touched: number }
  >();
  private bytes = 0;

  constructor(
    private readonly limits: ResponseStoreLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  put(key: string, response: StoredResponse, address = ''): void {
    this.delete(key);
    const size = response.body.length;
    if (size > this.limits.maxBytes || size > this.limits.maxClientBytes) return;
    // the client's own oldest first: one address cannot push out the responses of others
    let count = 0;
    let held = 0;
    for (const entry of this.entries.values()) {
      if (entry.address !== address) continue;
      count += 1;
      held += entry.response.body.length;
    }
    for (const [oldKey, entry] of this.entries) {
      if (count < this.limits.maxPerClient && held + size <= this.limits.maxClientBytes) break;
      if (entry.address !== address) continue;
      count -= 1;
      held -= entry.response.body.length;
      this.delete(oldKey);
    }
    this.entries.set(key, { response, address, touched: this.now() });
    this.bytes += size;
    // oldest first: Map keeps insertion order, and get() re-inserts
    for (const [oldKey] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.delete(oldKey);
    }
  }

  get(key: string): StoredResponse | undefined {
    this.prune();
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    entry.touched = this.now();
    this.entries.set(key, entry);
    return entry.response;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= entry.response.body.length;
  }

  prune(now = this.now()): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.touched > this.limits.idleMs) this.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
