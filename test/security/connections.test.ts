/**
 * Connection exhaustion (issue 12): a client that opens connections and sends nothing, or a body
 * that stalls, must not take the gateway, the control API or the platform's file descriptors.
 * A real `skiff serve` with small caps (50 per listener, 20 per client address, 3 s deadlines) is
 * flooded from loopback addresses of this machine (127.0.0.0/8 and ::1 are all local on Linux).
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir } from '../helpers/platform.js';
import { exited, FREE_PORTS, spawnServe, type ServeProcess, deployTo } from '../helpers/serve-process.js';
import { waitUntil } from '../helpers/wait.js';

const HELLO = path.resolve(import.meta.dirname, '..', '..', 'examples', 'hello');
const CAP = 50;
const PER_ADDRESS = 20;
const DEADLINE_MS = 3_000;
/** Larger than loopback's socket buffers take in, under the 6 MiB response cap. */
const BIG_BYTES = 6_000_000;
const CONFIG = {
  control: { maxConnections: CAP },
  http: { maxConnections: CAP },
  grpc: { maxConnections: CAP },
  mqtt: { broker: { maxConnections: CAP } },
  connections: {
    maxPerAddress: PER_ADDRESS,
    idleTimeoutMs: DEADLINE_MS,
    headersTimeoutMs: DEADLINE_MS,
    bodyIdleTimeoutMs: DEADLINE_MS,
    keepAliveTimeoutMs: 1_000,
  },
};

interface Reply {
  status: number;
  body: string;
}

/** One HTTP request on a fresh connection, from `localAddress` when given. */
function call(
  url: string,
  options: { localAddress?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent: false,
        timeout: 10_000,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

interface Held {
  socket: Socket;
  opened: number;
  /** Resolves with how long after `opened` the server closed it. */
  closed: Promise<number>;
  isClosed: () => boolean;
}

/** A TCP connection from `localAddress` that is connected and, unless `first` is given, silent. */
function hold(port: number, host: string, localAddress: string, first?: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, localAddress });
    let done = false;
    const opened = Date.now();
    const closed = new Promise<number>((res) =>
      socket.once('close', () => ((done = true), res(Date.now() - opened))),
    );
    socket.on('error', () => undefined);
    socket.resume(); // read what the server says (a 408, gRPC's SETTINGS), or its FIN goes unseen
    socket.once('connect', () => {
      if (first !== undefined) socket.write(first);
      resolve({ socket, opened, closed, isClosed: () => done });
    });
    socket.once('close', () => reject(new Error(`connection to ${host}:${port} failed`)));
  });
}

/** Resolves once `n` of them are closed by the server, or rejects after `ms`. */
async function closedWithin(held: Held[], n: number, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `only ${held.filter((h) => h.isClosed()).length} of ${held.length} closed within ${ms} ms, expected ${n}`,
          ),
        ),
      ms,
    );
  });
  let count = 0;
  const enough = new Promise<void>((resolve) => {
    for (const h of held) void h.closed.then(() => (count += 1) >= n && resolve());
    if (n === 0) resolve();
  });
  try {
    await Promise.race([enough, late]);
  } finally {
    clearTimeout(timer);
  }
}

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const portOf = (url: string): number => Number(new URL(url.replace(/^\w+:/, 'http:')).port);

describe('connection exhaustion', () => {
  let dataDir: string;
  let serve: ServeProcess;
  let endpoints: Record<string, string>;
  let log = '';
  let baselineFds: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    dataDir = await makeDataDir();
    const configFile = path.join(dataDir, 'limits.json');
    await writeFile(configFile, JSON.stringify(CONFIG));
    serve = await spawnServe(dataDir, {
      // the gateway on its default address (dual-stack ::), the control API on its default (localhost)
      args: ['--config', configFile, '--http-host', '::', '--log-level', 'debug'],
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // the platform's JSON log is on stderr
    serve.child.stderr?.setEncoding('utf8').on('data', (c: string) => (log += c));
    endpoints = JSON.parse(readFileSync(path.join(dataDir, 'endpoints.json'), 'utf8')) as Record<
      string,
      string
    >;
    // a function with a large answer, for a client that does not read it
    const big = path.join(dataDir, 'big-fn');
    await mkdir(big);
    await writeFile(
      path.join(big, 'index.js'),
      `export default async () => new Response('x'.repeat(${BIG_BYTES}));\n`,
    );
    for (const [name, dir] of [
      ['hello', HELLO],
      ['big', big],
    ] as const) {
      expect((await deployTo(serve, name, dir)).status).toBe(201);
      // warm: the instances' fds are in the baseline
      expect((await call(`${serve.http}/${name}`)).status).toBe(200);
    }
    baselineFds = fdCount(serve.child.pid as number);
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    if (serve !== undefined) {
      serve.child.kill('SIGTERM');
      await exited(serve.child);
    }
    await removeDir(dataDir);
  });

  const keep = (held: Held[]): Held[] => {
    for (const h of held) sockets.push(h.socket);
    return held;
  };

  it('answers on 127.0.0.1 and [::1], the gateway (::) and the control API (localhost)', async () => {
    const gateway = portOf(serve.http);
    const control = portOf(serve.control);
    for (const host of ['127.0.0.1', '[::1]']) {
      expect((await call(`http://${host}:${gateway}/hello`)).status).toBe(200);
      expect((await call(`http://${host}:${control}/v1/health`)).status).toBe(200);
    }
    expect(endpoints['http']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoints['control']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses connections over the per-address cap at once; other addresses and the control API still answer', async () => {
    const port = portOf(serve.http);
    const flood = keep(
      await Promise.all(Array.from({ length: PER_ADDRESS + 30 }, () => hold(port, '127.0.0.1', '127.0.0.1'))),
    );
    await closedWithin(flood, 30, 1_500); // the excess is destroyed at accept, long before any deadline
    expect(flood.filter((h) => h.isClosed())).toHaveLength(30);
    // one more from the flooding address is refused too; another address is served
    await expect(call(`http://127.0.0.1:${port}/hello`, { localAddress: '127.0.0.1' })).rejects.toThrow();
    expect((await call(`http://127.0.0.1:${port}/hello`, { localAddress: '127.0.0.2' })).status).toBe(200);
    expect((await call(`${serve.control}/v1/health`)).status).toBe(200);
    // the admitted silent ones are closed at the idle deadline
    await closedWithin(flood, flood.length, DEADLINE_MS + 2_500);
    const lifetimes = await Promise.all(flood.map((h) => h.closed));
    expect(lifetimes.filter((ms) => ms >= DEADLINE_MS - 500)).toHaveLength(PER_ADDRESS);
  });

  it('keeps the listener cap over many addresses while the control API (own cap) answers', async () => {
    const port = portOf(serve.http);
    const flood: Held[] = [];
    for (let a = 3; a < 7; a += 1) {
      // 4 addresses × 15, each under its per-address cap: 60 > 50
      flood.push(
        ...(await Promise.all(Array.from({ length: 15 }, () => hold(port, '127.0.0.1', `127.0.0.${a}`)))),
      );
    }
    keep(flood);
    await closedWithin(flood, 10, 1_500);
    // the gateway is full: a new client is refused, the control API is not affected
    await expect(call(`http://127.0.0.1:${port}/hello`, { localAddress: '127.0.0.2' })).rejects.toThrow();
    expect((await call(`${serve.control}/v1/health`)).status).toBe(200);
    for (const h of flood) h.socket.destroy();
    await closedWithin(flood, flood.length, 1_000);
    // the flood is over: served again
    await waitUntil(
      'the gateway to serve again',
      async () =>
        (await call(`http://127.0.0.1:${port}/hello`, { localAddress: '127.0.0.2' }).catch(() => undefined))
          ?.status === 200,
      2_000,
    );
  });

  it('caps the control API per address too; the CLI on the other loopback (::1) still gets in', async () => {
    const port = portOf(serve.control);
    const flood = keep(
      await Promise.all(Array.from({ length: PER_ADDRESS + 10 }, () => hold(port, '127.0.0.1', '127.0.0.1'))),
    );
    await closedWithin(flood, 10, 1_500);
    expect((await call(`http://[::1]:${port}/v1/health`)).status).toBe(200);
    for (const h of flood) h.socket.destroy();
  });

  it('caps the gRPC listener and the MQTT broker the same way, before a byte is read', async () => {
    for (const name of ['grpc', 'mqtt']) {
      const port = portOf(endpoints[name] as string);
      const flood = keep(
        await Promise.all(
          Array.from({ length: PER_ADDRESS + 10 }, () => hold(port, '127.0.0.1', '127.0.0.1')),
        ),
      );
      await closedWithin(flood, 10, 1_500);
      // and the silent rest at the idle deadline (MQTT's own CONNECT deadline is 10 s)
      await closedWithin(flood, flood.length, DEADLINE_MS + 2_500);
    }
  });

  it('cuts off a request body that stalls, on the gateway and the control API, and logs no error', async () => {
    const stalls = keep([
      await hold(
        portOf(serve.http),
        '127.0.0.1',
        '127.0.0.7',
        'POST /hello HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nabc',
      ),
      await hold(
        portOf(serve.control),
        '127.0.0.1',
        '127.0.0.7',
        `PUT /v1/functions/stall HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${serve.token}\r\ncontent-type: application/gzip\r\ncontent-length: 100000\r\n\r\nabc`,
      ),
      // headers that never end
      await hold(portOf(serve.http), '127.0.0.1', '127.0.0.7', 'GET /hello HTTP/1.1\r\nhost: x\r\nx-slow: '),
    ]);
    await closedWithin(stalls, stalls.length, DEADLINE_MS + 2_500);
    // a client that leaves mid-body on its own
    const leaves = await hold(
      portOf(serve.http),
      '127.0.0.1',
      '127.0.0.7',
      'POST /hello HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nabc',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    leaves.socket.destroy();
    expect((await call(`${serve.http}/hello`)).status).toBe(200);
    const lines = log.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.filter((l) => /"level":(50|60)/.test(l))).toEqual([]);
    expect(
      lines.some((l) => l.includes('the client closed the connection before the request body ended')),
    ).toBe(true);
    expect(lines.filter((l) => l.includes('"stack"'))).toEqual([]);
  });

  it('closes a connection whose client does not read the response (slow read)', async () => {
    const socket = connect({ port: portOf(serve.http), host: '127.0.0.1', localAddress: '127.0.0.8' });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write('GET /big HTTP/1.1\r\nhost: x\r\n\r\n');
    const ended = new Promise<number>((resolve) => {
      let received = 0;
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.once('close', () => resolve(received));
    });
    socket.pause(); // the 'data' listener would start the flow
    // an event of the platform, not a sleep: its log says when it gave up on this client
    await waitUntil(
      'the platform to give up on the client',
      () => log.includes('it does not read its response'),
      10_000,
    ).catch(
      () => undefined, // the expectation shows the log
    );
    expect(log).toContain('it does not read its response');
    socket.resume();
    // what the kernels had taken in arrives, then the end: never the whole answer
    expect(await ended).toBeLessThan(BIG_BYTES);
  });

  it('gives the file descriptors back once the flood is over', async () => {
    for (const s of sockets) s.destroy();
    const pid = serve.child.pid as number;
    await waitUntil('the descriptors back', () => fdCount(pid) <= baselineFds + 5, 5_000).catch(
      () => undefined,
    );
    expect(fdCount(pid)).toBeLessThanOrEqual(baselineFds + 5);
  });
});

describe('connection caps and the open-file limit', () => {
  const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');

  /** `skiff serve` under an open-file limit of `nofile`; resolves with its log once it is up or exited. */
  async function serveWithLimit(nofile: number): Promise<{ up: boolean; code: number | null; log: string }> {
    const dataDir = await makeDataDir();
    const child = spawn(
      'prlimit',
      [
        `--nofile=${nofile}:${nofile}`,
        '--',
        process.execPath,
        BIN,
        'serve',
        '--data-dir',
        dataDir,
        ...FREE_PORTS,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
    );
    let log = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (log += c));
    const up = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 20_000);
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        if (c.includes('Skiff is up')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited(child);
    await removeDir(dataDir);
    return { up, code: child.exitCode, log };
  }

  it('lowers the caps with a warning when they do not fit under the limit and the reserve', async () => {
    const { up, log } = await serveWithLimit(4096);
    expect(up).toBe(true);
    const warning = log.split('\n').find((l) => l.includes('connection caps do not fit'));
    expect(warning).toBeDefined();
    const lowered = (JSON.parse(warning as string) as { lowered: Record<string, number> }).lowered;
    const sum = Object.values(lowered).reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(4096 - 1024);
  });

  it('refuses to start when the limit leaves no room beside the reserve', async () => {
    const { up, code, log } = await serveWithLimit(1024);
    expect(up).toBe(false);
    expect(code).not.toBe(0);
    expect(log).toContain('SKIFF_E_CONFIG_INVALID');
  });
});
