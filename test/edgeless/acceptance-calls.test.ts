/**
 * EDGELESS acceptance on the real platform, points 6, 7, 11, 12 and 14 of docs/compat/edgeless.md's
 * list: calls into an attached guest (test/fixtures/edgeless/guest.py) and their three answers, host
 * Calls to unmapped aliases, host calls without an originator, CastRaw past every mapping and Slf.
 * A synchronous HTTP request to a member is a guest Call; an async one a guest Cast.
 */
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyWorkflow,
  b64,
  callOverHttp,
  castOverHttp,
  EDGELESS_ON,
  edgelessWorkflow,
  HostClient,
  memberLogs,
  memberName,
  startGuests,
  stopGuests,
  type Guest,
} from '../helpers/edgeless-guests.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

const WF = 'calls';
const A = memberName(WF, 'a');
const B = memberName(WF, 'b');
const CALL_RET = 'x-edgeless-call-ret';
const NIL = '00000000-0000-0000-0000-000000000000';
const CALL_RET_REPLY = 1;
const CALL_RET_ERR = 2;

describe('EDGELESS acceptance: calls, raw casts, originators, Slf', () => {
  let p: TestPlatform;
  let guests: Guest[] = [];
  let a: Guest;
  let b: Guest;
  let c: Guest;
  let d: Guest;

  beforeAll(async () => {
    [p, guests] = await Promise.all([startPlatform({ config: EDGELESS_ON }), startGuests(4)]);
    [a, b, c, d] = guests as [Guest, Guest, Guest, Guest];
    // a's alias peer → b; nothing maps to c
    await applyWorkflow(
      p,
      WF,
      edgelessWorkflow([
        { name: 'a', guest: a, mapping: { peer: 'b' } },
        { name: 'b', guest: b },
        { name: 'c', guest: c },
      ]),
    );
    // d: in a workflow of its own
    await applyWorkflow(p, 'calls-other', edgelessWorkflow([{ name: 'd', guest: d }]));
    await Promise.all(guests.map((g) => g.booted()));
  });

  afterAll(async () => {
    await stopGuests(guests);
    await p?.stop();
  });

  it('6: a call answers REPLY with the message, ERR as 500, and type 3 as NO_REPLY (with a warning)', async () => {
    const from = a.mark();
    const echo = await callOverHttp(p, A, 'echo-me');
    expect(echo.status).toBe(200);
    expect(echo.headers.get(CALL_RET)).toBe('reply');
    expect(await echo.text()).toBe('echo-me');
    const call = await a.got('Call', from, (e) => e.msg === b64('echo-me'));
    // from outside: no instance sent it
    expect(call.src?.function_id).toBe(NIL);

    const bytes = await callOverHttp(p, A, Buffer.from([0xff, 0xfe]));
    expect(bytes.status).toBe(200);
    expect(Buffer.from(await bytes.arrayBuffer())).toEqual(Buffer.from([0xff, 0xfe]));

    const err = await callOverHttp(p, A, 'err');
    expect(err.status).toBe(500);
    expect(err.headers.get(CALL_RET)).toBe('err');

    const noret = await callOverHttp(p, A, 'noret');
    expect(noret.status).toBe(204);
    expect(noret.headers.get(CALL_RET)).toBe('no-reply');
    expect(await noret.text()).toBe('');
    // the warning is where the user reads the member's other warnings: its function log
    await waitFor(
      'a warning about the unknown CallReturn type 3 in the member log',
      async () => (await memberLogs(p, A)).find((l) => l.level === 'warn' && /\btype 3\b/.test(l.message)),
      5_000,
    );
  });

  it('7: a host Call to an unmapped alias answers CALL_RET_ERR; to a mapped one, the target’s reply', async () => {
    const [fromA, fromB] = [a.mark(), b.mark()];
    const unmapped = await callOverHttp(p, A, 'recall nowhere x');
    expect(unmapped.status).toBe(204); // guest.py answers NO_REPLY after its host Call
    expect(await a.hostReply('Call', fromA)).toMatchObject({ type: CALL_RET_ERR });

    const mapped = a.mark();
    await callOverHttp(p, A, 'recall peer ask-b');
    expect(await a.hostReply('Call', mapped)).toMatchObject({ type: CALL_RET_REPLY, msg: b64('ask-b') });
    const atB = await b.got('Call', fromB, (e) => e.msg === b64('ask-b'));
    expect(atB.src).toEqual(a.instance);
    expect(a.hostErrors(fromA)).toEqual([]);
  });

  it('11: a host call without originator is INVALID_ARGUMENT (missing originator field); an unknown one too', async () => {
    const boot = a.events.findLast((e) => e.method === 'Boot');
    const host = new HostClient(boot?.endpoint ?? '');
    const self = a.instance;
    const msg = Buffer.from('no-originator');
    const fromB = b.mark();
    try {
      const requests: [string, object][] = [
        ['Cast', { alias: 'peer', msg }],
        ['Call', { alias: 'peer', msg }],
        ['CastRaw', { dst: b.instance, msg }],
        ['CallRaw', { dst: b.instance, msg }],
        ['TelemetryLog', { log_level: 'LOG_INFO', target: 't', msg: 'no-originator' }],
        ['DelayedCast', { alias: 'peer', msg, delay: 10 }],
        ['Sync', { serialized_state: msg }],
      ];
      for (const [rpc, request] of requests) {
        await expect(host.unary(rpc, request), rpc).rejects.toMatchObject({
          code: status.INVALID_ARGUMENT,
          details: expect.stringContaining('missing originator field'),
        });
      }
      const stranger = { node_id: self.node_id, function_id: randomUUID() };
      await expect(host.unary('Cast', { originator: stranger, alias: 'peer', msg })).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
      });
      // another instance's own id is not the id of the instance this listener serves
      await expect(host.unary('Cast', { originator: b.instance, alias: 'peer', msg })).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
      });
      // with the instance's own id the same request goes through, to b
      await host.unary('Cast', {
        originator: self,
        alias: 'peer',
        msg: Buffer.from('slow 1 with-originator'),
      });
      expect((await b.gotCast('slow 1 with-originator', fromB)).src).toEqual(self);
      expect(b.all('Cast', fromB).filter((e) => e.msg === b64(msg))).toEqual([]);
    } finally {
      host.close();
    }
  });

  it('12: CastRaw (and CallRaw) to another instance’s id reaches it though no mapping leads there', async () => {
    const fromC = c.mark();
    const dst = c.instance;
    await castOverHttp(p, A, `recast-raw ${dst.node_id} ${dst.function_id} slow 1 direct`);
    const got = await c.gotCast('slow 1 direct', fromC);
    expect(got.src).toEqual(a.instance);
    // CallRaw likewise (sent by the test as a): c's reply; an id no instance has: CALL_RET_ERR
    const host = new HostClient(a.events.findLast((e) => e.method === 'Boot')?.endpoint ?? '');
    try {
      const raw = { originator: a.instance, msg: Buffer.from('raw-call') };
      expect(await host.unary('CallRaw', { ...raw, dst })).toEqual({
        type: 'CALL_RET_REPLY',
        msg: Buffer.from('raw-call'),
      });
      expect((await c.got('Call', fromC, (e) => e.msg === b64('raw-call'))).src).toEqual(a.instance);
      const nobody = { node_id: dst.node_id, function_id: randomUUID() };
      expect(await host.unary('CallRaw', { ...raw, dst: nobody })).toMatchObject({ type: 'CALL_RET_ERR' });
      // an instance of another workflow is out of reach: CallRaw answers ERR, CastRaw drops with a warning
      const fromD = d.mark();
      expect(await host.unary('CallRaw', { ...raw, dst: d.instance })).toMatchObject({
        type: 'CALL_RET_ERR',
      });
      await host.unary('CastRaw', { ...raw, dst: d.instance, msg: Buffer.from('slow 1 cross') });
      await waitFor(
        "a warning naming the other workflow's instance in a's log",
        async () =>
          (await memberLogs(p, A)).find(
            (l) => l.level === 'warn' && l.message.includes(d.instance.function_id),
          ),
        5_000,
      );
      expect(d.all('Call', fromD)).toEqual([]);
      expect(d.all('Cast', fromD)).toEqual([]);
    } finally {
      host.close();
    }
  });

  it('14: Slf answers each caller its own id', async () => {
    const [fromA, fromB] = [a.mark(), b.mark()];
    await castOverHttp(p, A, 'slf');
    await castOverHttp(p, B, 'slf');
    expect((await a.hostReply('Slf', fromA)).id).toEqual(a.instance);
    expect((await b.hostReply('Slf', fromB)).id).toEqual(b.instance);
    expect(a.instance).not.toEqual(b.instance);
  });
});
