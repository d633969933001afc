/**
 * Baetyl's `instance` and `timeout` settings through Skiff's scaling, behind MQTT rules: a handler
 * past its timeout gets the error record and a new instance serves the next message; `max: 2` bounds
 * the concurrent calls and loses none; `min: 1` keeps one instance up from the deploy, and instances
 * beyond it stop after `idletime`.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionStatus } from '../helpers/function-status.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { Inbox } from '../mqtt/setup.js';
import { baetylFunction, baetylRule, deployAndListen, tearDown, PY_SECOND, PY_SLOW } from './functions.js';

describe('Baetyl instances behind MQTT rules', () => {
  let p: TestPlatform;
  let client: MqttClient;
  let inbox: Inbox;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    const slow = await baetylFunction({
      runtime: 'python',
      code: PY_SLOW,
      timeoutMs: 1500,
      scaling: { maxInstances: 1 },
      rules: [baetylRule('slow/in', 'slow/out', { attempts: 1 })],
    });
    const second = await baetylFunction({
      runtime: 'python',
      code: PY_SECOND,
      scaling: { minInstances: 1, maxInstances: 2, idleTimeoutMs: 1500 },
      rules: [baetylRule('second/in', 'second/out')],
    });
    dirs.push(slow, second);
    ({ client, inbox } = await deployAndListen(
      p,
      { slow, second },
      'test-baetyl-instances',
      ['slow/out', 'second/out'],
      ['slow/in', 'second/in'],
    ));
  });
  afterAll(() => tearDown(p, client, dirs));

  const json = (payload: Buffer): Record<string, unknown> =>
    JSON.parse(payload.toString()) as Record<string, unknown>;

  it('(11) a handler past its timeout gets the error record; a new instance serves the next message', async () => {
    await client.publishAsync('slow/in', 'hello', { qos: 1 });
    const first = json((await inbox.next('slow/out')).payload)['instance'];
    expect(typeof first).toBe('string');
    await client.publishAsync('slow/in', 'sleep', { qos: 1 });
    const envelope = json((await inbox.next('slow/out')).payload);
    expect(envelope['errorMessage']).toBe(
      'rpc error: code = DeadlineExceeded desc = context deadline exceeded',
    );
    expect((envelope['functionMessage'] as Record<string, unknown>)['Topic']).toBe('slow/in');
    await client.publishAsync('slow/in', 'hello', { qos: 1 });
    const next = json((await inbox.next('slow/out')).payload)['instance'];
    expect(typeof next).toBe('string');
    expect(next).not.toBe(first);
  });

  it('(13) min: 1 keeps an instance up before the first message', async () => {
    await waitFor(
      'the min instance',
      async () => ((await functionStatus(p, 'second')).instances.length === 1 ? true : undefined),
      15_000,
    );
  });

  it('(12) max: 2 runs five 1-second messages at most two at a time, all five', async () => {
    for (let n = 1; n <= 5; n++) await client.publishAsync('second/in', String(n), { qos: 1 });
    const runs: { start: number; end: number; n: number }[] = [];
    for (let i = 0; i < 5; i++) {
      runs.push(json((await inbox.next('second/out', () => true, 30_000)).payload) as never);
    }
    expect(runs.map((r) => r.n).sort()).toEqual([1, 2, 3, 4, 5]);
    let most = 0;
    for (const run of runs) {
      // how many runs were going at the moment this one started
      const going = runs.filter((other) => other.start <= run.start && other.end > run.start).length;
      most = Math.max(most, going);
    }
    expect(most).toBe(2);
  });

  it('(13) instances beyond min stop after idletime', async () => {
    await waitFor(
      'one instance left',
      async () => ((await functionStatus(p, 'second')).instances.length === 1 ? true : undefined),
      15_000,
    );
  });
});
