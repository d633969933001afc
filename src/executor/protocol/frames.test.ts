import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameKind,
  FrameTooLargeError,
  FrameWriter,
  HEADER_BYTES,
  MAX_FRAME_BYTES,
  MAX_META_BYTES,
  encodeFrame,
  maxBridgeFrameBytes,
} from './frames.js';
import { parseBridgeFrame } from './messages.js';

const MiB = 1024 * 1024;

describe('frame decoder limits', () => {
  it('decodes frames split anywhere and batched', () => {
    const bytes = Buffer.concat([
      encodeFrame(FrameKind.RESULT, 1, { status: 200, headers: [] }, Buffer.from('hi')),
      encodeFrame(FrameKind.PONG, 2),
    ]);
    const decoder = new FrameDecoder();
    const frames = [...bytes].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(frames.map((f) => [f.kind, f.id])).toEqual([
      [5, 1],
      [11, 2],
    ]);
    expect(frames[0]?.body.toString()).toBe('hi');
  });

  it('refuses a frame over the limit from its first 9 bytes, naming its kind and id', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: maxBridgeFrameBytes(6 * MiB) });
    const head = Buffer.alloc(9);
    head.writeUInt32BE(60 * MiB, 0);
    head.writeUInt8(FrameKind.RESULT, 4);
    head.writeUInt32BE(7, 5);
    expect(decoder.push(head.subarray(0, 5))).toEqual([]);
    let thrown: unknown;
    try {
      decoder.push(head.subarray(5));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FrameTooLargeError);
    expect(thrown).toMatchObject({ kind: FrameKind.RESULT, id: 7, length: 60 * MiB + 4 });
  });

  it('refuses a meta over the meta limit before the frame is complete', () => {
    const decoder = new FrameDecoder({ maxMetaBytes: MAX_META_BYTES });
    const head = Buffer.alloc(13);
    head.writeUInt32BE(9 + 2 * MiB, 0);
    head.writeUInt8(FrameKind.RESULT, 4);
    head.writeUInt32BE(2 * MiB, 9);
    expect(() => decoder.push(head)).toThrow(/meta of 2097152 bytes/);
  });

  it('refuses lengths below the header, meta that overruns, and meta that is not an object', () => {
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 3, 5, 0, 0, 0, 0]))).toThrow(
      /invalid frame length/,
    );
    const overrun = encodeFrame(FrameKind.RESULT, 1, { status: 200 });
    overrun.writeUInt32BE(1000, 9);
    expect(() => new FrameDecoder().push(overrun)).toThrow(/overruns/);
    const array = Buffer.concat([Buffer.alloc(13), Buffer.from('[1]')]);
    array.writeUInt32BE(9 + 3, 0);
    array.writeUInt8(5, 4);
    array.writeUInt32BE(3, 9);
    expect(() => new FrameDecoder().push(array)).toThrow(/not a JSON object/);
  });
});

describe('frame codec', () => {
  it('round-trips kind, id (all 32 bits), meta and body bytes', () => {
    const body = Buffer.from([0, 255, 10, 13, 0]);
    const meta = { status: 201, headers: [['x-ü', 'ö ✓']] };
    const bytes = encodeFrame(FrameKind.RESULT, 0xfffffffe, meta, body);
    expect(bytes.length).toBe(HEADER_BYTES + Buffer.byteLength(JSON.stringify(meta)) + body.length);
    expect(bytes.readUInt32BE(0)).toBe(bytes.length - 4);
    const [frame, ...rest] = new FrameDecoder().push(bytes);
    expect(rest).toEqual([]);
    expect(frame).toEqual({ kind: FrameKind.RESULT, id: 0xfffffffe, meta, body });
  });

  it('decodes a frame without meta or body as an empty meta and an empty body', () => {
    const bytes = encodeFrame(FrameKind.PING, 0);
    expect(bytes.length).toBe(HEADER_BYTES);
    expect(new FrameDecoder().push(bytes)).toEqual([
      { kind: FrameKind.PING, id: 0, meta: {}, body: Buffer.alloc(0) },
    ]);
  });

  it('gives back every whole frame of a chunk and keeps the partial one for the next chunk', () => {
    const a = encodeFrame(FrameKind.LOG, 1, { stream: 'stdout', level: 'info' }, Buffer.from('line'));
    const b = encodeFrame(FrameKind.RESULT, 2, { status: 200, headers: [] }, Buffer.from('body'));
    const c = encodeFrame(FrameKind.PONG, 3);
    const all = Buffer.concat([a, b, c]);
    const cut = a.length + b.length + 5;
    const decoder = new FrameDecoder();
    expect(decoder.push(all.subarray(0, cut)).map((f) => f.id)).toEqual([1, 2]);
    expect(decoder.push(all.subarray(cut)).map((f) => f.id)).toEqual([3]);
    expect(decoder.push(Buffer.alloc(0))).toEqual([]);
  });

  it('waits on a truncated header: nothing is decoded until the rest of the frame arrives', () => {
    const bytes = encodeFrame(FrameKind.RESULT, 9, { status: 200, headers: [] }, Buffer.from('x'));
    const decoder = new FrameDecoder();
    // inside the length field, inside kind and id, inside the meta length, then all but one body byte
    const cuts = [0, 2, 4, 9, HEADER_BYTES, bytes.length - 1];
    for (let k = 1; k < cuts.length; k++) {
      const piece = bytes.subarray(cuts[k - 1], cuts[k]);
      expect(decoder.push(piece), `bytes ${cuts[k - 1]}..${cuts[k]}`).toEqual([]);
    }
    expect(decoder.push(bytes.subarray(bytes.length - 1)).map((f) => f.body.toString())).toEqual(['x']);
  });

  it('refuses to encode a frame over MAX_FRAME_BYTES', () => {
    expect(() => encodeFrame(FrameKind.RESULT, 1, {}, new Uint8Array(MAX_FRAME_BYTES))).toThrow(RangeError);
  });

  it('refuses a frame one byte over the decoder limit, and takes one at the limit', () => {
    const frame = encodeFrame(FrameKind.RESULT, 4, { status: 200, headers: [] }, Buffer.alloc(100));
    expect(new FrameDecoder({ maxFrameBytes: frame.length }).push(frame)).toHaveLength(1);
    expect(() => new FrameDecoder({ maxFrameBytes: frame.length - 1 }).push(frame)).toThrow(
      FrameTooLargeError,
    );
  });

  it('refuses meta that is not JSON', () => {
    const bytes = encodeFrame(FrameKind.RESULT, 1, { a: 1 });
    bytes.write('{', HEADER_BYTES + 6);
    expect(() => new FrameDecoder().push(bytes)).toThrow(SyntaxError);
  });

  it('passes a kind the protocol does not have through the codec; the message schema refuses it', () => {
    const [frame] = new FrameDecoder().push(encodeFrame(99, 5, { any: 'thing' }));
    expect(frame).toMatchObject({ kind: 99, id: 5 });
    const parsed = parseBridgeFrame(frame as NonNullable<typeof frame>);
    expect(parsed).toEqual({ ok: false, reason: 'kind 99 is not a frame a runtime may send' });
  });

  it('on the per-turn schedule, writes the frames sent in one turn of the event loop in one write', async () => {
    const writes: Buffer[] = [];
    const sent: number[] = [];
    const writer = new FrameWriter({ write: (data: Buffer) => writes.push(data) }, 'turn');
    writer.send(FrameKind.PING, 1, undefined, undefined, () => sent.push(1));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    await Promise.resolve();
    writer.send(FrameKind.PING, 2, undefined, undefined, () => sent.push(2));
    expect(writes).toEqual([]);
    expect(sent).toEqual([]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    expect(new FrameDecoder().push(writes[0] as Buffer).map((f) => f.id)).toEqual([1, 2]);
    expect(sent).toEqual([1, 2]);
  });

  it('writes the frames sent in one tick in one write, in order', async () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter({ write: (data: Buffer) => writes.push(data) });
    writer.send(FrameKind.PING, 1);
    writer.send(FrameKind.PING, 2);
    expect(writes).toEqual([]);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(writes).toHaveLength(1);
    expect(new FrameDecoder().push(writes[0] as Buffer).map((f) => f.id)).toEqual([1, 2]);
  });
});

describe('frame writer batches', () => {
  it('writes small and large frames in order across slabs, and never writes over bytes handed out', async () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter({ write: (data: Buffer) => writes.push(data) });
    const sent: { id: number; meta: Record<string, unknown>; body: Buffer }[] = [];
    for (let id = 1; id <= 300; id++) {
      // mostly small frames (a slab holds a few dozen), now and then one too large for a slab
      const body = Buffer.alloc(id % 50 === 0 ? 10_000 : id % 7, id % 256);
      const meta = { n: id, text: 'ü✓'.repeat(id % 40), quote: '"\\' };
      writer.send(FrameKind.LOG, id, meta, body);
      sent.push({ id, meta, body });
      if (id % 40 === 0) await new Promise<void>((resolve) => process.nextTick(resolve));
    }
    writer.flush();
    const copies = writes.map((w) => Buffer.from(w));
    // later frames went to new bytes: what was handed to the stream earlier is unchanged
    writes.forEach((w, i) => expect(w.equals(copies[i] as Buffer)).toBe(true));
    const decoder = new FrameDecoder();
    const frames = writes.flatMap((w) => decoder.push(w));
    expect(frames.map((f) => ({ id: f.id, meta: f.meta, body: f.body }))).toEqual(sent);
  });

  it('takes a meta given as JSON text as it is', async () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter({ write: (data: Buffer) => writes.push(data) });
    writer.send(FrameKind.PING, 1, '{"a":[1,"x"]}');
    writer.send(FrameKind.PING, 2, { a: [1, 'x'] });
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(writes).toHaveLength(1);
    const [a, b] = new FrameDecoder().push(writes[0] as Buffer);
    expect(a?.meta).toEqual({ a: [1, 'x'] });
    expect(b?.meta).toEqual(a?.meta);
    expect(
      encodeFrame(FrameKind.PING, 1, '{"a":[1,"x"]}').equals(encodeFrame(FrameKind.PING, 1, { a: [1, 'x'] })),
    ).toBe(true);
  });

  it('refuses a frame over MAX_FRAME_BYTES and queues nothing of it', async () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter({ write: (data: Buffer) => writes.push(data) });
    expect(() => writer.send(FrameKind.RESULT, 1, {}, new Uint8Array(MAX_FRAME_BYTES))).toThrow(RangeError);
    writer.send(FrameKind.PING, 2);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(new FrameDecoder().push(writes[0] as Buffer).map((f) => f.id)).toEqual([2]);
  });
});

describe('frame decoder views', () => {
  it('decodes many frames of one chunk, and frames across chunks, with their bodies intact', () => {
    const frames = Array.from({ length: 50 }, (_, i) =>
      encodeFrame(FrameKind.RESULT, i, { status: 200, headers: [['n', String(i)]] }, Buffer.alloc(i * 3, i)),
    );
    const all = Buffer.concat(frames);
    for (const size of [1, 7, 64, 1000, all.length]) {
      const decoder = new FrameDecoder();
      const out = [];
      for (let at = 0; at < all.length; at += size) out.push(...decoder.push(all.subarray(at, at + size)));
      expect(
        out.map((f) => [f.id, f.meta['headers'], f.body.toString('hex')]),
        `chunks of ${size}`,
      ).toEqual(frames.map((_, i) => [i, [['n', String(i)]], Buffer.alloc(i * 3, i).toString('hex')]));
    }
  });
});
