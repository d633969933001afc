/**
 * The protobuf messages of Baetyl's runtime interfaces (proto/baetyl/): `baetyl.FunctionMessage` and
 * `openedge.FunctionMessage` (the same fields) and 0.1.1's `runtime.Message` (other field numbers, no
 * ID or Timestamp). Encoded and decoded here by hand so that the shim needs no package inside the
 * sandbox: proto3 rules, a field at its default value is not written, unknown fields are skipped.
 */

export interface FunctionMessage {
  id: bigint;
  qos: number;
  topic: string;
  payload: Uint8Array;
  /** Unix seconds. */
  timestamp: bigint;
  functionName: string;
  functionInvokeId: string;
}

/** Which message a method carries: the 1.0 / 0.1.2+ FunctionMessage, or 0.1.1's Message. */
export type MessageShape = 'function-message' | 'runtime-message';

const FIELDS = {
  'function-message': { id: 1, qos: 2, topic: 3, payload: 4, timestamp: 10, name: 11, invokeId: 12 },
  'runtime-message': { id: 0, qos: 1, topic: 2, payload: 3, timestamp: 0, name: 11, invokeId: 12 },
} as const;

const MAX_U64 = (1n << 64n) - 1n;

function varint(value: bigint, out: number[]): void {
  let v = BigInt.asUintN(64, value);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function tag(field: number, wireType: number, out: number[]): void {
  varint(BigInt((field << 3) | wireType), out);
}

function zigzag(value: bigint): bigint {
  return BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
}

function unzigzag(value: bigint): bigint {
  return BigInt.asIntN(64, (value >> 1n) ^ -(value & 1n));
}

export function encodeMessage(shape: MessageShape, m: FunctionMessage): Buffer {
  const f = FIELDS[shape];
  const head: number[] = [];
  const parts: Buffer[] = [];
  const flush = (): void => {
    if (head.length > 0) parts.push(Buffer.from(head.splice(0)));
  };
  const bytes = (field: number, value: Uint8Array): void => {
    if (value.length === 0) return;
    tag(field, 2, head);
    varint(BigInt(value.length), head);
    flush();
    parts.push(Buffer.from(value.buffer, value.byteOffset, value.length));
  };
  if (f.id !== 0 && m.id !== 0n) {
    tag(f.id, 0, head);
    varint(m.id & MAX_U64, head);
  }
  if (m.qos !== 0) {
    tag(f.qos, 0, head);
    varint(BigInt(m.qos >>> 0), head);
  }
  bytes(f.topic, Buffer.from(m.topic, 'utf8'));
  bytes(f.payload, m.payload);
  if (f.timestamp !== 0 && m.timestamp !== 0n) {
    tag(f.timestamp, 0, head);
    varint(zigzag(m.timestamp), head);
  }
  bytes(f.name, Buffer.from(m.functionName, 'utf8'));
  bytes(f.invokeId, Buffer.from(m.functionInvokeId, 'utf8'));
  flush();
  return Buffer.concat(parts);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new Error('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new Error('varint too long');
  }

  take(length: number): Buffer {
    if (length < 0 || this.pos + length > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

/** Decodes a reply; throws on bytes that are not a well-formed message. */
export function decodeMessage(shape: MessageShape, buf: Buffer): FunctionMessage {
  const f = FIELDS[shape];
  const m: FunctionMessage = {
    id: 0n,
    qos: 0,
    topic: '',
    payload: new Uint8Array(0),
    timestamp: 0n,
    functionName: '',
    functionInvokeId: '',
  };
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) {
      const v = r.varint();
      if (field === f.id && f.id !== 0) m.id = v;
      else if (field === f.qos) m.qos = Number(BigInt.asUintN(32, v));
      else if (field === f.timestamp && f.timestamp !== 0) m.timestamp = unzigzag(v);
    } else if (wireType === 2) {
      const v = r.take(Number(r.varint()));
      if (field === f.topic) m.topic = v.toString('utf8');
      else if (field === f.payload) m.payload = v;
      else if (field === f.name) m.functionName = v.toString('utf8');
      else if (field === f.invokeId) m.functionInvokeId = v.toString('utf8');
    } else if (wireType === 1) r.take(8);
    else if (wireType === 5) r.take(4);
    else throw new Error(`unsupported wire type ${wireType}`);
  }
  return m;
}
