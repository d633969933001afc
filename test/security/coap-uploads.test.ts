/**
 * Block-wise CoAP uploads held open (issue 12): a stranger starts many Block1 uploads from many
 * loopback source addresses (several /24s) and sends nothing more, which used to fill the global cap
 * of uploads in progress and refuse every new one with 5.03. A new client's upload must still get
 * through: the flood's idlest uploads make way for it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'coap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

/** Source /24s of the flood and uploads from each: more than the global cap (64) in all. */
const GROUPS = 10;
const PER_GROUP = 8;
const URI_PATH = 11;
const BLOCK1 = 27;

/** One option (delta and length below 269). */
function option(delta: number, value: Buffer): Buffer {
  const nib = (n: number) => (n < 13 ? n : 13);
  const ext = (n: number) => (n < 13 ? [] : [n - 13]);
  return Buffer.from([(nib(delta) << 4) | nib(value.length), ...ext(delta), ...ext(value.length), ...value]);
}

/** A confirmable POST /echo carrying block 0 (of 1024 bytes, More set) of an upload. */
function firstBlock(mid: number): Buffer {
  return Buffer.concat([
    Buffer.from([0x44, 0x02, mid >> 8, mid & 0xff]),
    randomBytes(4),
    option(URI_PATH, Buffer.from('echo')),
    option(BLOCK1 - URI_PATH, Buffer.from([0x0e])), // num 0, More, szx 6
    Buffer.from([0xff]),
    Buffer.alloc(1024, 'A'),
  ]);
}

/** Sends the first block from `address`; resolves with the answer's code (e.g. '2.31'), or ''. */
function holdUpload(port: number, address: string, mid: number, sockets: Socket[]): Promise<string> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sockets.push(sock);
    const timer = setTimeout(() => resolve(''), 3_000);
    sock.on('message', (m) => {
      clearTimeout(timer);
      const code = m[1] ?? 0;
      resolve(`${code >> 5}.${String(code & 31).padStart(2, '0')}`);
    });
    sock.on('error', () => resolve(''));
    sock.bind(0, address, () => sock.send(firstBlock(mid), port, '127.0.0.1'));
  });
}

describe('CoAP block-wise uploads held open', () => {
  let p: TestPlatform;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    port = Number(new URL(p.server.endpoints['coap'] as string).port);
    await p.deployAll({ echo: 'echo-cjs' });
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('lets a new upload through while a flood from many /24s holds more uploads than the cap', async () => {
    const codes: string[] = [];
    let mid = 1;
    for (let g = 0; g < GROUPS; g += 1) {
      const batch = [];
      for (let i = 1; i <= PER_GROUP; i += 1) {
        batch.push(holdUpload(port, `127.0.${30 + g}.${i}`, (mid += 1), sockets));
      }
      codes.push(...(await Promise.all(batch)));
    }
    // every first block was taken (2.31 Continue): the flood holds the cap
    expect(codes.filter((c) => c === '2.31').length).toBeGreaterThanOrEqual(64);

    const agent = new Agent({ type: 'udp4' });
    try {
      const payload = randomBytes(3 * 1024);
      const answer = await new Promise<{ code: string; payload: Buffer }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no CoAP answer')), 15_000);
        const req = request({
          hostname: '127.0.0.1',
          port,
          pathname: '/echo',
          method: 'POST',
          agent,
          options: { Block1: Buffer.from([6]) },
        });
        req.on('response', (res: { code: string; payload: Buffer }) => {
          clearTimeout(timer);
          resolve(res);
        });
        req.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
        req.end(payload);
      });
      expect(answer.code).toBe('2.05');
    } finally {
      agent.close();
    }
  }, 60_000);
});
