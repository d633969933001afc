/**
 * Red team, hostile GUESTS: a call cycle between two attached instances of one workflow. A handles a
 * Call and calls B (host Call); B, while handling it, calls A back. A's lane is held by the Call that
 * waits for B, so B's call waits behind it: the cycle can never finish, and both lanes (every event
 * for A and for B) are held until the outer deadline (compat.edgeless.callTimeoutMs, 30 s, or the
 * request's). Only a direct self-call is refused at once; the platform knows the chain (each host
 * call's parent is the event in delivery) but does not use it to refuse a call into a lane that one
 * of the call's own ancestors holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

let platform: TestPlatform;
const guests: HostileGuest[] = [];

/** A guest whose Call handler calls its alias `output` and answers with what came back. */
async function caller(): Promise<HostileGuest> {
  const g: HostileGuest = await startHostileGuest({
    call: (req, done) => {
      void g.host('Call', { originator: g.boot()?.id, alias: 'output', msg: req.msg }).then(
        (ret) => done(null, ret),
        () => done(null, { type: 'CALL_RET_ERR', msg: Buffer.alloc(0) }),
      );
    },
  });
  return g;
}

const member = (name: string, url: string, to: string) => ({
  name,
  class_specification: {
    id: name,
    function_type: 'CONTAINER',
    version: '1',
    code: `grpc:${url}`,
    outputs: ['output'],
  },
  output_mapping: { output: to },
});

beforeAll(async () => {
  guests.push(await caller(), await caller());
  platform = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
  const [a, b] = guests as [HostileGuest, HostileGuest];
  const res = await platform.api('/v1/workflows/cyc', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      functions: [member('a', a.url, 'b'), member('b', b.url, 'a')],
      resources: [],
      annotations: {},
    }),
  });
  expect(res.status).toBe(201);
  for (const g of guests) await waitFor('Init', () => g.seen.find((s) => s.method === 'Init'));
});

afterAll(async () => {
  await platform?.stop();
  for (const g of guests) await g.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: a call cycle A → B → A', () => {
  it('is refused at once (as a self-call is), not left to hold both lanes until the deadline', async () => {
    const started = Date.now();
    const res = await platform.call('/cyc--a', { method: 'POST', body: 'ping' });
    const took = Date.now() - started;
    await res.arrayBuffer();
    expect(took, `the cycle held both instances for ${took} ms (answer ${res.status})`).toBeLessThan(5_000);
  });
});
