import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameKind,
  FrameTooLargeError,
  MAX_META_BYTES,
  encodeFrame,
  maxBridgeFrameBytes,
} from './frames.js';

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
