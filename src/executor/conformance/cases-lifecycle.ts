/**
 * Conformance cases about the runtime as a process: concurrency over one connection, CANCEL, PING,
 * unknown frame kinds, SHUTDOWN, a crash, and the end of the protocol socket.
 */
import { FrameKind } from '../protocol/frames.js';
import type { ConformanceCase } from './case.js';
import { call, describeReply, expectAlive, expectText, ms, ping, REPLY_TIMEOUT_MS } from './checks.js';
import { CaseFailure, delay, describeExit } from './harness.js';

const SHUTDOWN_GRACE_MS = 2_000;
/** The platform kills a runtime that has not exited this long after the grace period. */
const KILL_SLACK_MS = 100;
/** The platform kills an instance that has not answered a CANCEL within this time. */
const CANCEL_GRACE_MS = 1_000;

export const concurrent: ConformanceCase = {
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

export const cancel: ConformanceCase = {
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

export const health: ConformanceCase = {
  name: 'health',
  summary: 'PING is answered with PONG with the same id, within 1 s',
  async run(ctx) {
    const rt = await ctx.start();
    const times = [await ping(rt, 0), await ping(rt, 4242), await ping(rt, 3_000_000_000)];
    return `3 PONGs, slowest ${Math.max(...times)} ms`;
  },
};

export const unknownKind: ConformanceCase = {
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

export const shutdown: ConformanceCase = {
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

export const crash: ConformanceCase = {
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

export const eof: ConformanceCase = {
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
