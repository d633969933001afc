/**
 * EDGELESS acceptance on the real platform, points 9, 10 and 16 of docs/compat/edgeless.md's list:
 * telemetry in the member's log, a mapping changed on a running workflow, and synced state given back
 * in Init after the instance restarts and after Skiff restarts (same data directory). The restart is
 * the last test: the platform it leaves is the one afterAll stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyWorkflow,
  b64,
  castOverHttp,
  EDGELESS_ON,
  edgelessWorkflow,
  memberLogs,
  memberName,
  startGuests,
  stopGuests,
  type Guest,
  type MemberSpec,
} from '../helpers/edgeless-guests.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

describe('EDGELESS acceptance: telemetry, live mappings, synced state', () => {
  let p: TestPlatform;
  let guests: Guest[] = [];
  let keeper: Guest;
  let a: Guest;
  let b: Guest;
  let c: Guest;
  const KEEPER = memberName('state', 'keeper');
  const keeperWorkflow = (version: string) =>
    edgelessWorkflow([{ name: 'keeper', guest: keeper, version, annotations: { 'init-payload': 'k=v' } }]);
  const remap = (target: string): MemberSpec[] => [
    { name: 'a', guest: a, mapping: { out: target } },
    { name: 'b', guest: b },
    { name: 'c', guest: c },
  ];

  beforeAll(async () => {
    [p, guests] = await Promise.all([startPlatform({ config: EDGELESS_ON }), startGuests(4)]);
    [keeper, a, b, c] = guests as [Guest, Guest, Guest, Guest];
    await applyWorkflow(p, 'state', keeperWorkflow('1.0'));
    await applyWorkflow(p, 'remap', edgelessWorkflow(remap('b')));
    await Promise.all(guests.map((g) => g.booted()));
  });

  afterAll(async () => {
    await stopGuests(guests);
    await p?.stop();
  });

  it('10: telemetry-log t hello is a line at info in the member log, with logger t', async () => {
    const from = keeper.mark();
    await castOverHttp(p, KEEPER, 'telemetry-log t hello telemetry');
    await keeper.hostReply('TelemetryLog', from);
    const line = await waitFor(
      'the telemetry line in the member log',
      async () => (await memberLogs(p, KEEPER)).find((l) => l.message.includes('hello telemetry')),
      5_000,
    );
    expect(line).toMatchObject({ level: 'info', logger: 't', message: 'hello telemetry' });
    expect(keeper.hostErrors(from)).toEqual([]);
  });

  it('16: a changed mapping redirects the next event without restarting any instance', async () => {
    const marks = [a, b, c].map((g) => g.mark());
    const [fromA, fromB, fromC] = marks as [number, number, number];
    await castOverHttp(p, memberName('remap', 'a'), 'recast out slow 1 first');
    expect((await b.gotCast('slow 1 first', fromB)).src).toEqual(a.instance);

    const applied = await applyWorkflow(p, 'remap', edgelessWorkflow(remap('c')));
    expect(applied.warnings).toEqual([]);
    await castOverHttp(p, memberName('remap', 'a'), 'recast out slow 1 second');
    expect((await c.gotCast('slow 1 second', fromC)).src).toEqual(a.instance);
    await a.hostReply('Cast', fromA);
    expect(b.all('Cast', fromB).map((e) => e.msg)).toEqual([b64('slow 1 first')]);
    for (const [i, g] of [a, b, c].entries()) {
      const since = g.events.slice(marks[i]);
      expect(since.filter((e) => e.method === 'Boot' || e.method === 'Stop' || e.method === 'Init')).toEqual(
        [],
      );
    }
  });

  it('9: synced state comes back in Init when the instance restarts, and after Skiff restarts', async () => {
    const from = keeper.mark();
    await castOverHttp(p, KEEPER, 'sync state-1');
    await keeper.hostReply('Sync', from);
    const nodeId = keeper.instance.node_id;

    // a new version of the function: the instance is stopped, booted and initialised again
    const restart = keeper.mark();
    await applyWorkflow(p, 'state', keeperWorkflow('1.1'));
    await keeper.got('Stop', restart);
    const again = await keeper.booted(restart);
    expect(again.init).toMatchObject({ init_payload: 'k=v', serialized_state: b64('state-1') });

    // Skiff stops and starts again on the same data directory: the workflow boots with the state
    const { dataDir } = p;
    const reboot = keeper.mark();
    await p.stop();
    p = await startPlatform({ dataDir, config: EDGELESS_ON });
    const after = await keeper.booted(reboot, 40_000);
    expect(after.init).toMatchObject({ init_payload: 'k=v', serialized_state: b64('state-1') });
    expect(after.boot.instance_id?.node_id).toBe(nodeId);
    // and it is served again under its name
    const live = keeper.mark();
    await castOverHttp(p, KEEPER, 'recast self slow 1 alive');
    await keeper.gotCast('slow 1 alive', live);
  });
});
