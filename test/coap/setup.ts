/**
 * What the CoAP tests share: a platform with a small coap.maxPayloadBytes for a file's tests, a fresh
 * client Agent for each test, a request with the `coap` package's client, a run of libcoap's coap-client, raw datagrams.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request, type OptionValue } from 'coap';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { quietFor } from '../helpers/wait.js';

export const KiB = 1024;
export const MAX_PAYLOAD = 12 * KiB;

/**
 * Starts a platform for the file's tests (coap.maxPayloadBytes of MAX_PAYLOAD, `functions` deployed,
 * name: fixture), hands it to `use`, and stops and removes it after them.
 */
export function platformForFile(
  functions: Record<string, string>,
  use: (started: { p: TestPlatform; base: string }) => void,
): void {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startPlatform({ config: { coap: { maxPayloadBytes: MAX_PAYLOAD } } });
    const base = p.server.endpoints['coap'] as string;
    await p.deployAll(functions);
    use({ p, base });
  });
  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });
}

/** A fresh udp4 client Agent for each test, handed to `use`; the one in use is closed after each test. */
export function agentPerTest(use: (agent: Agent) => void): void {
  let agent: Agent;
  beforeAll(() => {
    use((agent = new Agent({ type: 'udp4' })));
  });
  afterEach(() => {
    agent.close();
    use((agent = new Agent({ type: 'udp4' })));
  });
  afterAll(() => {
    agent.close();
  });
}

export interface Answer {
  code: string;
  payload: Buffer;
  headers: Record<string, unknown>;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One request with the `coap` package's client: `target` is `/<name>[/rest][?query]`. */
export function coapCall(
  agent: Agent,
  base: string,
  target: string,
  init: {
    method?: Method;
    payload?: Buffer | string | undefined;
    confirmable?: boolean;
    options?: Record<string, OptionValue>;
  } = {},
): Promise<Answer> {
  const url = new URL(base);
  const q = target.indexOf('?');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CoAP answer to ${target}`)), 15_000);
    const req = request({
      hostname: url.hostname,
      port: Number(url.port),
      pathname: q === -1 ? target : target.slice(0, q),
      ...(q === -1 ? {} : { query: target.slice(q + 1) }),
      method: init.method ?? 'GET',
      confirmable: init.confirmable ?? true,
      agent,
      ...(init.options === undefined ? {} : { options: init.options }),
    });
    req.on('response', (res: { code: string; payload: Buffer; headers: Record<string, unknown> }) => {
      clearTimeout(timer);
      resolve({ code: res.code, payload: res.payload, headers: res.headers });
    });
    req.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(init.payload);
  });
}

export interface ClientRun {
  /** The response payload (`-o`). */
  payload: Buffer;
  /** What coap-client printed on stderr: the code and payload of a 4.xx/5.xx answer. */
  stderr: string;
  /** The last message received, from the -v 7 log: type, code and options. */
  response: { type: string; code: string; options: string } | undefined;
}

let outputs = 0;

/** Runs Debian's libcoap client (coap-client-notls) with a timeout; `-B` bounds its own wait. */
export async function coapClient(dir: string, args: string[]): Promise<ClientRun> {
  const out = path.join(dir, `coap-out-${(outputs += 1)}`);
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      'coap-client-notls',
      ['-B', '10', '-v', '7', '-o', out, ...args],
      { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, so, se) =>
        err !== null ? reject(new Error(`${err.message}\n${se}`)) : resolve({ stdout: so, stderr: se }),
    );
  });
  const received = [
    ...stdout.matchAll(/v:1 t:(CON|NON|ACK|RST) c:(\d\.\d\d) i:[0-9a-f]+ \{[0-9a-f]*\} \[ (.*?) \]/g),
  ]
    .map((m) => ({ type: m[1] as string, code: m[2] as string, options: m[3] as string }))
    .filter((m) => !m.code.startsWith('0.'));
  const payload = await readFile(out).catch(() => Buffer.alloc(0));
  return { payload, stderr, response: received.at(-1) };
}

/** A raw CoAP request datagram (RFC 7252 §3), for what the clients above cannot send. */
export function datagram(
  confirmable: boolean,
  mid: number,
  token: Buffer,
  options: [number, string][],
): Buffer {
  const parts = [
    Buffer.from([0x40 | (confirmable ? 0 : 0x10) | token.length, 0x01, mid >> 8, mid & 0xff]),
    token,
  ];
  let last = 0;
  for (const [num, value] of options) {
    // short options only: delta and length below 13
    parts.push(Buffer.from([((num - last) << 4) | Buffer.byteLength(value)]), Buffer.from(value));
    last = num;
  }
  return Buffer.concat(parts);
}

/** Sends datagrams from one socket and collects what comes back for `ms`. */
export async function exchange(base: string, datagrams: Buffer[], ms: number): Promise<Buffer[]> {
  const sock = createSocket('udp4');
  const received: Buffer[] = [];
  sock.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  for (const d of datagrams) sock.send(d, Number(new URL(base).port), '127.0.0.1');
  await quietFor(ms, 'every reply that comes back in this window, repeats included');
  sock.close();
  return received;
}

/** An answer's payload as JSON (the echo functions answer with what they got). */
export function json(a: Answer): Record<string, unknown> {
  return JSON.parse(a.payload.toString()) as Record<string, unknown>;
}
