/**
 * The conformance cases, in the order they run. Each starts its own runtime process(es) through
 * `ctx.start()`, drives the conformance function (docs/runtime-protocol.md, section 9) and returns a
 * short detail on success or throws a CaseFailure with the reason.
 */
import { randomBytes } from 'node:crypto';
import { FrameKind } from '../protocol/frames.js';
import {
  call,
  describeReply,
  expectBody,
  expectHeader,
  expectStatus,
  expectText,
  REPLY_TIMEOUT_MS,
} from './checks.js';
import {
  CONFORMANCE_FUNCTION,
  CONFORMANCE_VERSION,
  CaseFailure,
  delay,
  describeExit,
  type RuntimeProcess,
} from './harness.js';

export interface CaseContext {
  /** Starts a fresh runtime process and completes HELLO → INIT → READY. */
  start(): Promise<RuntimeProcess>;
  /** Starts a fresh runtime process without any handshake. */
  spawn(): RuntimeProcess;
  helloTimeoutMs: number;
  readyTimeoutMs: number;
}

export interface ConformanceCase {
  name: string;
  /** One line: what the case checks. */
  summary: string;
  run(ctx: CaseContext): Promise<string>;
}

const ms = (since: number) => Math.round(performance.now() - since);

const SHUTDOWN_GRACE_MS = 2_000;
/** The platform kills a runtime that has not exited this long after the grace period. */
const KILL_SLACK_MS = 100;
/** The platform kills an instance that has not answered a CANCEL within this time. */
const CANCEL_GRACE_MS = 1_000;
const PONG_TIMEOUT_MS = 1_000;

async function ping(rt: RuntimeProcess, id: number): Promise<number> {
  const sent = performance.now();
  rt.send(FrameKind.PING, id);
  await rt.waitFor(
    `PONG for PING id ${id}`,
    (f) => f.kind === FrameKind.PONG && f.id === id,
    PONG_TIMEOUT_MS,
  );
  return ms(sent);
}

async function expectAlive(rt: RuntimeProcess, id: number, what: string): Promise<void> {
  const body = `still alive after ${what}`;
  const frame = await call(rt, id, {
    path: '/echo',
    body: Buffer.from(body),
    headers: [['content-type', 'text/plain']],
  });
  expectStatus(frame, 200, `/echo after ${what}`);
  expectText(frame, body, `/echo after ${what}`);
}

const handshake: ConformanceCase = {
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

const echo: ConformanceCase = {
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

const binaryBody: ConformanceCase = {
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

const largeBody: ConformanceCase = {
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

const statusHeaders: ConformanceCase = {
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

const concurrent: ConformanceCase = {
  name: 'concurrent',
  summary: '16 × /sleep/200 in flight at once finish in < 5× one call; replies matched by out-of-order ids',
  async run(ctx) {
    const rt = await ctx.start();
    const single = performance.now();
    expectText(await call(rt, 1, { method: 'GET', path: '/sleep/200' }), 'slept', '/sleep/200');
    const one = ms(single);
    // wire ids are opaque: out of order, sparse, and one above 2^31
    const sleepIds = [907, 12, 4_294_967_000, 40, 3, 555, 78, 2_000_000, 19, 64, 301, 8, 1_024, 77, 250, 9];
    const echoIds = sleepIds.map((_, i) => 60_000 - i * 7);
    const started = performance.now();
    sleepIds.forEach((id, i) => {
      rt.invoke(id, { method: 'GET', path: '/sleep/200' });
      const echoId = echoIds[i] as number;
      rt.invoke(echoId, { path: '/echo', body: Buffer.from(`body of ${echoId}`) });
    });
    const replies = await Promise.all(
      [...sleepIds, ...echoIds].map(async (id) => ({ id, frame: await rt.reply(id, 5_000) })),
    );
    const took = ms(started);
    for (const { id, frame } of replies) {
      const what = sleepIds.includes(id) ? `/sleep/200 on wire id ${id}` : `/echo on wire id ${id}`;
      if (frame.kind !== FrameKind.RESULT) throw new CaseFailure(`${what}: ${describeReply(frame)}`);
      expectText(frame, sleepIds.includes(id) ? 'slept' : `body of ${id}`, what);
    }
    if (took >= 5 * one) {
      throw new CaseFailure(
        `16 sleeps in flight took ${took} ms, one alone ${one} ms: not served concurrently (limit ${5 * one} ms)`,
      );
    }
    return `16 sleeps + 16 echoes in ${took} ms (one sleep alone ${one} ms)`;
  },
};

const context: ConformanceCase = {
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

const logLines: ConformanceCase = {
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

const userError: ConformanceCase = {
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

const cancel: ConformanceCase = {
  name: 'cancel',
  summary:
    '/sleep/10000 then CANCEL: ERROR CANCELLED (or nothing) within 1 s; PING and other ids still served',
  async run(ctx) {
    const rt = await ctx.start();
    rt.invoke(1, { method: 'GET', path: '/sleep/10000' });
    await delay(200);
    const pong = await ping(rt, 50);
    const cancelled = performance.now();
    rt.send(FrameKind.CANCEL, 1);
    // as the platform does after a timeout: a PING right behind the CANCEL
    const probe = await ping(rt, 1);
    await expectAlive(rt, 2, 'a CANCEL');
    const left = Math.max(0, CANCEL_GRACE_MS - ms(cancelled));
    let reply;
    try {
      reply = await rt.reply(1, left);
    } catch (err) {
      if (!(err instanceof CaseFailure) || !err.message.startsWith('no ')) throw err;
    }
    if (reply !== undefined && !(reply.kind === FrameKind.ERROR && reply.meta['code'] === 'CANCELLED')) {
      throw new CaseFailure(`the cancelled invocation got ${describeReply(reply)}, expected ERROR CANCELLED`);
    }
    // a CANCEL for an id that was answered already is ignored
    rt.send(FrameKind.CANCEL, 2);
    await ping(rt, 51);
    const answer =
      reply === undefined
        ? 'no reply within 1 s (allowed; the platform would kill the instance)'
        : `CANCELLED after ${Math.round(reply.at - cancelled)} ms`;
    return `${answer}; PONG in ${pong} ms while busy, ${probe} ms after CANCEL`;
  },
};

const health: ConformanceCase = {
  name: 'health',
  summary: 'PING is answered with PONG with the same id, within 1 s',
  async run(ctx) {
    const rt = await ctx.start();
    const times = [await ping(rt, 0), await ping(rt, 4242), await ping(rt, 3_000_000_000)];
    return `3 PONGs, slowest ${Math.max(...times)} ms`;
  },
};

const unknownKind: ConformanceCase = {
  name: 'unknown-kind',
  summary: 'a frame of unknown kind (99) is ignored; the next /echo works',
  async run(ctx) {
    const rt = await ctx.start();
    rt.send(99, 0, { future: true }, Buffer.from('ignore me'));
    rt.send(99, 7, { future: true });
    await expectAlive(rt, 8, 'an unknown frame kind');
    return 'ignored';
  },
};

const shutdown: ConformanceCase = {
  name: 'shutdown',
  summary: 'SHUTDOWN (graceMs 2000) during /sleep/300: its RESULT arrives, then exit 0 within the grace',
  async run(ctx) {
    const rt = await ctx.start();
    rt.invoke(1, { method: 'GET', path: '/sleep/300' });
    await delay(50);
    const sent = performance.now();
    rt.send(FrameKind.SHUTDOWN, 0, { graceMs: SHUTDOWN_GRACE_MS });
    const reply = await rt.reply(1, SHUTDOWN_GRACE_MS + KILL_SLACK_MS);
    if (reply.kind !== FrameKind.RESULT) {
      throw new CaseFailure(`/sleep/300 during shutdown: expected RESULT, got ${describeReply(reply)}`);
    }
    expectText(reply, 'slept', '/sleep/300 during shutdown');
    const limit = SHUTDOWN_GRACE_MS + KILL_SLACK_MS - ms(sent);
    const exit = await rt.waitExit(Math.max(0, limit));
    if (exit === undefined) {
      throw new CaseFailure(`still running ${SHUTDOWN_GRACE_MS + KILL_SLACK_MS} ms after SHUTDOWN`);
    }
    if (exit.code !== 0)
      throw new CaseFailure(`exited with ${describeExit(exit)} after SHUTDOWN, expected 0`);
    const busy = ms(sent);

    const idle = await ctx.start();
    const idleSent = performance.now();
    idle.send(FrameKind.SHUTDOWN, 0, { graceMs: SHUTDOWN_GRACE_MS });
    const idleExit = await idle.waitExit(1_000);
    if (idleExit === undefined) throw new CaseFailure('an idle runtime did not exit within 1 s of SHUTDOWN');
    if (idleExit.code !== 0) {
      throw new CaseFailure(
        `an idle runtime exited with ${describeExit(idleExit)} after SHUTDOWN, expected 0`,
      );
    }
    return `RESULT, then exit 0 ${busy} ms after SHUTDOWN; idle exit in ${ms(idleSent)} ms`;
  },
};

const crash: ConformanceCase = {
  name: 'crash',
  summary: '/crash: the process exits with a non-zero code and sends no RESULT',
  async run(ctx) {
    const rt = await ctx.start();
    rt.invoke(1, { method: 'GET', path: '/crash' });
    const exit = await rt.waitExit(REPLY_TIMEOUT_MS);
    if (exit === undefined) throw new CaseFailure(`still running ${REPLY_TIMEOUT_MS} ms after /crash`);
    if (exit.code === 0) throw new CaseFailure('exited with code 0 after /crash, expected non-zero');
    const reply = rt.received(
      (f) => f.id === 1 && (f.kind === FrameKind.RESULT || f.kind === FrameKind.ERROR),
    );
    if (reply?.kind === FrameKind.RESULT) throw new CaseFailure('sent a RESULT for /crash before exiting');
    return `exited with ${describeExit(exit)}`;
  },
};

const eof: ConformanceCase = {
  name: 'eof',
  summary: 'when the platform closes the socket, the runtime exits within 2 s',
  async run(ctx) {
    const rt = await ctx.start();
    const closed = performance.now();
    rt.closeSocket();
    const exit = await rt.waitExit(2_000);
    if (exit === undefined) throw new CaseFailure('still running 2 s after the protocol socket was closed');
    return `exited with ${describeExit(exit)} in ${ms(closed)} ms`;
  },
};

export const CASES: readonly ConformanceCase[] = [
  handshake,
  echo,
  binaryBody,
  largeBody,
  statusHeaders,
  concurrent,
  context,
  logLines,
  userError,
  cancel,
  health,
  unknownKind,
  shutdown,
  crash,
  eof,
];

export const CASE_NAMES: readonly string[] = CASES.map((c) => c.name);
