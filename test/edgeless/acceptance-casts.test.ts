/**
 * EDGELESS acceptance on the real platform, points 3, 4, 5, 8, 13 and 15 of docs/compat/edgeless.md's
 * list: casts between attached guests (test/fixtures/edgeless/guest.py) and into a file-log, `self`,
 * unmapped aliases, delayed casts, one event at a time per instance in order, and byte-clean payloads.
 * Every cast from outside is an async HTTP request to the member (`X-Skiff-Async: true`).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyWorkflow,
  b64,
  castOverHttp,
  EDGELESS_ON,
  edgelessWorkflow,
  fileLogLines,
  HostClient,
  memberLogs,
  memberName,
  startGuests,
  stopGuests,
  type Guest,
  type GuestEvent,
} from '../helpers/edgeless-guests.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

const WF = 'casts';
const LOG = 'casts-audit.log';
const A = memberName(WF, 'a');
const B = memberName(WF, 'b');
const Q = memberName(WF, 'q');

describe('EDGELESS acceptance: casts', () => {
  let p: TestPlatform;
  let guests: Guest[] = [];
  let a: Guest;
  let b: Guest;
  let c: Guest;
  let q: Guest;

  beforeAll(async () => {
    [p, guests] = await Promise.all([startPlatform({ config: EDGELESS_ON }), startGuests(4)]);
    [a, b, c, q] = guests as [Guest, Guest, Guest, Guest];
    // a → the file-log; b → c; q alone
    await applyWorkflow(
      p,
      WF,
      edgelessWorkflow(
        [
          { name: 'a', guest: a, mapping: { output: 'audit' } },
          { name: 'b', guest: b, mapping: { output: 'c' } },
          { name: 'c', guest: c },
          { name: 'q', guest: q },
        ],
        [{ name: 'audit', filename: LOG }],
      ),
    );
    await Promise.all(guests.map((g) => g.booted()));
  });

  afterAll(async () => {
    await stopGuests(guests);
    await p?.stop();
  });

  it('3: a cast of hello comes back as a host Cast to output within about 1.5 s, and the mapped file-log gains a line', async () => {
    const from = a.mark();
    const before = await fileLogLines(p, WF, LOG);
    await castOverHttp(p, A, 'hello');
    const got = await a.gotCast('hello', from);
    // guest.py waits 1 s, then casts to `output`: the host takes it, the file-log writes it
    const reply = await a.hostReply('Cast', from);
    const line = await waitFor(
      'a line with hello in the file-log',
      async () => (await fileLogLines(p, WF, LOG)).slice(before.length).find((l) => l.includes('hello')),
      5_000,
    );
    const written = Date.now();
    expect(reply.at - got.at).toBeGreaterThanOrEqual(1000);
    // about 1.5 s from the guest taking the cast to the line (with room for a loaded machine)
    expect(written - got.at).toBeLessThan(2_500);
    expect(line).toContain('hello');
    expect(await fileLogLines(p, WF, LOG)).toHaveLength(before.length + 1);
    expect(a.hostErrors(from)).toEqual([]);
  });

  it('4: recast self ping reaches the instance itself, from itself', async () => {
    const from = a.mark();
    await castOverHttp(p, A, 'recast self slow 1 ping');
    const ping = await a.gotCast('slow 1 ping', from);
    expect(ping.src).toEqual(a.instance);
  });

  it('5: a cast to an unmapped alias succeeds, is logged as a warning and delivered nowhere', async () => {
    const from = a.mark();
    const marks = guests.map((g) => g.mark());
    const logged = await fileLogLines(p, WF, LOG);
    await castOverHttp(p, A, 'recast nowhere lost-event');
    await a.hostReply('Cast', from);
    expect(a.hostErrors(from)).toEqual([]);
    const warning = await waitFor(
      'a warning naming the alias in the member log',
      async () => (await memberLogs(p, A)).find((l) => l.level === 'warn' && l.message.includes('nowhere')),
      5_000,
    );
    expect(warning.message).toContain('nowhere');
    // then a cast that is mapped, behind it on the same instance: once it is written, the lost one
    // (made before it) had its chance to go anywhere
    await castOverHttp(p, A, 'recast output marker-event');
    await waitFor(
      'the marker in the file-log',
      async () => (await fileLogLines(p, WF, LOG)).find((l) => l.includes('marker-event')),
      5_000,
    );
    const lines = (await fileLogLines(p, WF, LOG)).slice(logged.length);
    expect(lines.filter((l) => l.includes('lost-event'))).toEqual([]);
    guests.forEach((g, i) =>
      expect(g.all('Cast', marks[i]).filter((e) => e.msg === b64('lost-event'))).toEqual([]),
    );
  });

  it('8: recast-delayed 1000 self x without metadata is accepted and delivered no earlier than 1 s later', async () => {
    const from = a.mark();
    await castOverHttp(p, A, 'recast-delayed 1000 self slow 1 x');
    const accepted = await a.hostReply('DelayedCast', from);
    const delivered = await a.gotCast('slow 1 x', from, 10_000);
    expect(delivered.at - (accepted.sent ?? Infinity)).toBeGreaterThanOrEqual(1000);
    expect(delivered.src).toEqual(a.instance);
    expect(a.hostErrors(from)).toEqual([]);
    // a delay over 24 hours is refused
    const host = new HostClient(a.events.findLast((e) => e.method === 'Boot')?.endpoint ?? '');
    try {
      const day = 24 * 60 * 60 * 1000;
      await expect(
        host.unary('DelayedCast', {
          originator: a.instance,
          alias: 'self',
          msg: Buffer.from('never'),
          delay: day + 1,
        }),
      ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    } finally {
      host.close();
    }
  });

  it('13: five casts pending at once at one instance arrive one at a time, in the order they were accepted', async () => {
    const from = q.mark();
    const bodies = [0, 1, 2, 3, 4].map((i) => `slow ${i === 0 ? 800 : 100} n${i}`);
    // accepted one after the other (each 202 before the next request), all within the 800 ms the
    // instance spends on the first: five casts waiting for it at the same time
    const ids: string[] = [];
    for (const body of bodies) ids.push(await castOverHttp(p, Q, body));
    const acceptedAll = Date.now();
    const done = await waitFor(
      'five cast-done lines',
      () => {
        const lines = q.events.slice(from).filter((e) => e.event === 'cast-done');
        return lines.length >= 5 ? lines : undefined;
      },
      15_000,
    );
    const starts = q.all('Cast', from);
    expect(starts.map((e) => e.msg)).toEqual(bodies.map((body) => b64(body)));
    expect(done.map((e) => e.msg)).toEqual(bodies.map((body) => b64(body)));
    expect(acceptedAll).toBeLessThan(done[0]!.at);
    // no overlap: each starts after the one before it ended
    for (let i = 1; i < starts.length; i++)
      expect(starts[i]!.at, `cast ${i}`).toBeGreaterThanOrEqual(done[i - 1]!.at);
    expect(new Set(ids).size).toBe(5);
  });

  it('15: bytes ff fe cast to an instance that re-casts its input reach the next instance unchanged', async () => {
    const bytes = Buffer.from([0xff, 0xfe]);
    const [fromB, fromC] = [b.mark(), c.mark()];
    await castOverHttp(p, B, bytes);
    const atB = await b.gotCast(bytes, fromB);
    const atC: GuestEvent = await c.gotCast(bytes, fromC);
    expect(atB.msg).toBe('//4=');
    expect(atC.msg).toBe('//4=');
    expect(atC.src).toEqual(b.instance);
    expect(b.hostErrors(fromB)).toEqual([]);
  });
});
