/**
 * Pipelined request floods on the gateway (issue 12): connections that each write thousands of
 * pipelined requests and never read the answers used to start every one of them at once (node:http
 * hands each parsed request over), taking the executor and the event loop from every other function.
 * Now a connection's requests run one at a time and deep pipelining closes it; and one client
 * address has at most `http.maxInFlightPerAddress` requests in progress (then 429 with Retry-After).
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir } from '../helpers/platform.js';
import { exited, spawnServe, type ServeProcess, deployTo } from '../helpers/serve-process.js';

const HELLO = path.resolve(import.meta.dirname, '..', '..', 'examples', 'hello');
const IN_FLIGHT = 6;
const FLOOD_CONNECTIONS = 20;
const PIPELINED = 5_000;

interface Reply {
  status: number;
  ms: number;
  retryAfter: string | undefined;
  body: string;
}

function call(url: string, localAddress: string): Promise<Reply> {
  const start = Date.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 20_000, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: Date.now() - start,
          retryAfter: res.headers['retry-after'],
          body,
        }),
      );
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, ms: Date.now() - start, retryAfter: undefined, body: '' }));
    req.end();
  });
}

describe('pipelined request floods and requests in flight per client', () => {
  let dataDir: string;
  let serve: ServeProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    dataDir = await makeDataDir();
    const configFile = path.join(dataDir, 'limits.json');
    await writeFile(configFile, JSON.stringify({ http: { maxInFlightPerAddress: IN_FLIGHT } }));
    serve = await spawnServe(dataDir, { args: ['--config', configFile] });
    const slow = path.join(dataDir, 'slow-fn');
    await mkdir(slow);
    await writeFile(
      path.join(slow, 'index.mjs'),
      `export default async (request) => { await new Promise((r) => setTimeout(r, Number(new URL(request.url).searchParams.get('ms') ?? '0'))); return 'done'; };\n`,
    );
    await writeFile(
      path.join(slow, 'skiff.json'),
      JSON.stringify({ scaling: { maxInstances: 4, concurrency: 8 } }),
    );
    for (const [name, dir] of [
      ['echo', HELLO],
      ['other', HELLO],
      ['slow', slow],
    ] as const) {
      const res = await deployTo(serve, name, dir);
      expect(res.status, res.text).toBe(201);
    }
    expect((await call(`${serve.http}/other`, '127.0.0.2')).status).toBe(200);
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    if (serve !== undefined) {
      serve.child.kill('SIGTERM');
      await exited(serve.child);
    }
    await removeDir(dataDir);
  });

  it('keeps another function answering while connections pipeline thousands of requests and read nothing', async () => {
    const port = Number(new URL(serve.http).port);
    const one = 'GET /echo HTTP/1.1\r\nHost: x\r\n\r\n';
    await Promise.all(
      Array.from(
        { length: FLOOD_CONNECTIONS },
        (_, i) =>
          new Promise<void>((resolve) => {
            const s = connect({ port, host: '127.0.0.1', localAddress: `127.0.77.${1 + (i % 5)}` }, () => {
              s.write(one.repeat(PIPELINED));
              resolve();
            });
            s.pause(); // never read the answers
            s.on('error', () => resolve());
            sockets.push(s);
          }),
      ),
    );
    const replies: Reply[] = [];
    for (let i = 0; i < 20; i += 1) replies.push(await call(`${serve.http}/other`, '127.0.0.2'));
    expect(replies.map((r) => r.status)).toEqual(Array<number>(20).fill(200));
    expect(Math.max(...replies.map((r) => r.ms))).toBeLessThan(2_000);
  }, 60_000);

  it('answers 429 with Retry-After to a client over http.maxInFlightPerAddress; others are served', async () => {
    const burst = Array.from({ length: IN_FLIGHT + 6 }, () =>
      call(`${serve.http}/slow?ms=1500`, '127.0.0.3'),
    );
    const other = await call(`${serve.http}/other`, '127.0.0.4');
    const replies = await Promise.all(burst);
    expect(other.status).toBe(200);
    const refused = replies.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(6);
    expect(refused.every((r) => /^\d+$/.test(r.retryAfter ?? ''))).toBe(true);
    expect(refused[0]?.body).toContain('maxInFlightPerAddress');
    expect(replies.filter((r) => r.status === 200).length).toBe(IN_FLIGHT);
  }, 60_000);
});
