/**
 * Conformance cases about what travels in one invocation: the handshake, request and response bodies,
 * status and headers, the handler's context, log lines and user errors.
 */
import { randomBytes } from 'node:crypto';
import { FrameKind } from '../protocol/frames.js';
import type { ConformanceCase } from './case.js';
import {
  call,
  describeReply,
  expectAlive,
  expectBody,
  expectHeader,
  expectStatus,
  expectText,
  ms,
  REPLY_TIMEOUT_MS,
} from './checks.js';
import { CONFORMANCE_FUNCTION, CONFORMANCE_VERSION, CaseFailure } from './harness.js';

export const handshake: ConformanceCase = {
  name: 'handshake',
  summary: 'HELLO with protocol 1 unprompted within 5 s; INIT is answered with READY',
  async run(ctx) {
    const started = performance.now();
    const rt = ctx.spawn();
    const hello = await rt.handshake(ctx.helloTimeoutMs, ctx.readyTimeoutMs);
    const version =
      typeof hello.meta['runtimeVersion'] === 'string' ? ` ${hello.meta['runtimeVersion']}` : '';
    return `runtime "${String(hello.meta['runtime'])}"${version}, READY after ${ms(started)} ms`;
  },
};

export const echo: ConformanceCase = {
  name: 'echo',
  summary: 'POST /echo returns the body, the method and the content-type; GET /echo has an empty body',
  async run(ctx) {
    const rt = await ctx.start();
    const text = 'hello, skiff ✓ — ünïcödé';
    const post = await call(rt, 1, {
      path: '/echo',
      body: Buffer.from(text),
      headers: [['content-type', 'text/plain; charset=utf-8']],
    });
    expectStatus(post, 200, 'POST /echo');
    expectText(post, text, 'POST /echo');
    expectHeader(post, 'x-method', 'POST', 'POST /echo');
    expectHeader(post, 'content-type', 'text/plain; charset=utf-8', 'POST /echo');
    const get = await call(rt, 2, { method: 'GET', path: '/echo' });
    expectStatus(get, 200, 'GET /echo');
    expectText(get, '', 'GET /echo');
    expectHeader(get, 'x-method', 'GET', 'GET /echo');
    return 'POST and GET echoed';
  },
};

export const binaryBody: ConformanceCase = {
  name: 'binary-body',
  summary: 'all 256 byte values and 1 MiB of random bytes come back byte-equal',
  async run(ctx) {
    const rt = await ctx.start();
    const octets = [['content-type', 'application/octet-stream']] as [string, string][];
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const first = await call(rt, 1, { path: '/echo', body: all, headers: octets });
    expectBody(first, all, '256 byte values');
    const random = randomBytes(1024 * 1024);
    const second = await call(rt, 2, { path: '/echo', body: random, headers: octets }, 10_000);
    expectBody(second, random, '1 MiB random');
    return '256 byte values, 1 MiB random';
  },
};

export const largeBody: ConformanceCase = {
  name: 'large-body',
  summary: '5 MiB to the runtime and 5 MiB back, byte-equal',
  async run(ctx) {
    const rt = await ctx.start();
    const body = randomBytes(5 * 1024 * 1024);
    const started = performance.now();
    const frame = await call(
      rt,
      1,
      { path: '/echo', body, headers: [['content-type', 'application/octet-stream']] },
      15_000,
    );
    expectBody(frame, body, '5 MiB echo');
    return `5 MiB each way in ${ms(started)} ms`;
  },
};

export const statusHeaders: ConformanceCase = {
  name: 'status-headers',
  summary: 'GET /status/201 and /status/404 return that status and x-status',
  async run(ctx) {
    const rt = await ctx.start();
    for (const [id, status] of [
      [1, 201],
      [2, 404],
    ] as const) {
      const frame = await call(rt, id, { method: 'GET', path: `/status/${status}` });
      expectStatus(frame, status, `/status/${status}`);
      expectHeader(frame, 'x-status', String(status), `/status/${status}`);
    }
    return '201 and 404 with x-status';
  },
};

export const context: ConformanceCase = {
  name: 'context',
  summary: "/env returns the function name, version and invocation id from the handler's context",
  async run(ctx) {
    const rt = await ctx.start();
    const invocationId = `conformance-${Date.now()}`;
    const frame = await call(rt, 5, { method: 'GET', path: '/env', invocationId });
    let value: unknown;
    try {
      value = JSON.parse(frame.body.toString('utf8'));
    } catch {
      throw new CaseFailure(
        `/env: body is not JSON: ${JSON.stringify(frame.body.toString('utf8').slice(0, 80))}`,
      );
    }
    const expected = { fn: CONFORMANCE_FUNCTION, version: CONFORMANCE_VERSION, id: invocationId };
    const got = value as Record<string, unknown>;
    for (const [key, want] of Object.entries(expected)) {
      if (got[key] !== want) {
        throw new CaseFailure(
          `/env: ${key} is ${JSON.stringify(got[key])}, expected ${JSON.stringify(want)}`,
        );
      }
    }
    return 'function name, version and invocation id';
  },
};

export const logLines: ConformanceCase = {
  name: 'log-lines',
  summary: "/log: a LOG frame with the invocation's wire id holding conformance-log, before its RESULT",
  async run(ctx) {
    const rt = await ctx.start();
    const id = 21;
    const result = await call(rt, id, { method: 'GET', path: '/log' });
    expectText(result, 'logged', '/log');
    const log = rt.received(
      (f) => f.kind === FrameKind.LOG && f.body.toString('utf8').includes('conformance-log'),
    );
    if (log === undefined) {
      const stdout = rt.stdoutHead.some((line) => line.includes('conformance-log'));
      throw new CaseFailure(
        stdout
          ? 'conformance-log was written to fd 1 instead of a LOG frame with the wire id'
          : 'no LOG frame holding conformance-log',
      );
    }
    if (log.id !== id) throw new CaseFailure(`the LOG frame has wire id ${log.id}, expected ${id}`);
    if (log.seq > result.seq) throw new CaseFailure('the LOG frame arrived after the RESULT');
    return `LOG id ${id} stream ${String(log.meta['stream'])} before RESULT`;
  },
};

export const userError: ConformanceCase = {
  name: 'user-error',
  summary: '/error: ERROR FUNCTION_ERROR with the message for that id; the runtime keeps serving',
  async run(ctx) {
    const rt = await ctx.start();
    rt.invoke(3, { method: 'GET', path: '/error' });
    const frame = await rt.reply(3, REPLY_TIMEOUT_MS);
    if (frame.kind !== FrameKind.ERROR)
      throw new CaseFailure(`/error: expected ERROR, got ${describeReply(frame)}`);
    if (frame.meta['code'] !== 'FUNCTION_ERROR') {
      throw new CaseFailure(`/error: ERROR code ${String(frame.meta['code'])}, expected FUNCTION_ERROR`);
    }
    const message = frame.meta['message'];
    if (typeof message !== 'string' || !message.includes('conformance-error')) {
      throw new CaseFailure(`/error: message ${JSON.stringify(message)} does not hold conformance-error`);
    }
    await expectAlive(rt, 4, 'a user error');
    const stack = typeof frame.meta['stack'] === 'string' ? ' with a stack' : '';
    return `FUNCTION_ERROR${stack}; next call served`;
  },
};
