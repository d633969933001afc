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
  callOverHttp,
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
  type MemberSpec,
} from '../helpers/edgeless-guests.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

const BUSY_LOG = 'busy.log';
const LEVELS = ['error', 'warn', 'info', 'debug', 'trace'];

describe('EDGELESS acceptance: telemetry, live mappings, synced state', () => {
  let p: TestPlatform;
  let guests: Guest[] = [];
  let keeper: Guest;
  let a: Guest;
  let b: Guest;
  let c: Guest;
  let busy: Guest;
  const KEEPER = memberName('state', 'keeper');
  const keeperWorkflow = (version: string) =>
    edgelessWorkflow([{ name: 'keeper', guest: keeper, version, annotations: { 'init-payload': 'k=v' } }]);
  const busyWorkflow = (version: string) =>
    edgelessWorkflow(
      [{ name: 'w', guest: busy, version, mapping: { output: 'sink' } }],
      [{ name: 'sink', filename: BUSY_LOG }],
    );
  const remap = (target: string): MemberSpec[] => [
    { name: 'a', guest: a, mapping: { out: target } },
    { name: 'b', guest: b },
    { name: 'c', guest: c },
  ];

  beforeAll(async () => {
    [p, guests] = await Promise.all([startPlatform({ config: EDGELESS_ON }), startGuests(5)]);
    [keeper, a, b, c, busy] = guests as [Guest, Guest, Guest, Guest, Guest];
    await applyWorkflow(p, 'state', keeperWorkflow('1.0'));
    await applyWorkflow(p, 'remap', edgelessWorkflow(remap('b')));
    await applyWorkflow(p, 'busy', busyWorkflow('1.0'));
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
    // every level maps one to one (the test sends them as the instance)
    const boot = keeper.events.findLast((e) => e.method === 'Boot');
    const host = new HostClient(boot?.endpoint ?? '');
    try {
      for (const level of LEVELS)
        await host.unary('TelemetryLog', {
          originator: keeper.instance,
          log_level: `LOG_${level.toUpperCase()}`,
          target: `lvl.${level}`,
          msg: `at ${level}`,
        });
    } finally {
      host.close();
    }
    const levels = await waitFor(
      'a line of each level',
      async () => {
        const lines = (await memberLogs(p, KEEPER)).filter((l) => l.logger?.startsWith('lvl.'));
        return lines.length >= LEVELS.length ? lines : undefined;
      },
      5_000,
    );
    expect(levels.map((l) => [l.level, l.logger, l.message])).toEqual(
      LEVELS.map((level) => [level, `lvl.${level}`, `at ${level}`]),
    );
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

  it('9: an instance restarted while it handles an event: the event ends and its output goes out, then Stop, Boot and Init', async () => {
    const member = memberName('busy', 'w');
    const from = busy.mark();
    // guest.py spends 1 s on this payload, then casts it to its alias output (the file-log)
    await castOverHttp(p, member, 'busy-event');
    await busy.gotCast('busy-event', from);
    await applyWorkflow(p, 'busy', busyWorkflow('1.1'));
    await busy.next('to finish the busy cast', (e) => e.event === 'cast-done', from);
    const { init } = await busy.booted(from);
    const lifecycle = busy.events.slice(from, busy.events.indexOf(init) + 1).map((e) => e.method ?? e.event);
    // one event at a time: the old boot's event (and its host Cast) ends before Stop; the new boot after
    expect(lifecycle).toEqual(['Cast', 'host-reply', 'cast-done', 'Stop', 'Boot', 'Init']);
    expect(busy.hostErrors(from)).toEqual([]);
    await waitFor(
      'the busy event in the file-log',
      async () => (await fileLogLines(p, 'busy', BUSY_LOG)).find((l) => l === 'busy-event'),
      5_000,
    );
    // the instance booted last is the one that answers, and nothing stops it afterwards
    const answer = await callOverHttp(p, member, 'after-restart');
    expect(answer.status).toBe(200);
    expect(busy.events.slice(busy.events.indexOf(init)).filter((e) => e.method === 'Stop')).toEqual([]);
  });

  it('9: synced state comes back in Init when the instance restarts, and after Skiff restarts (a delayed cast too)', async () => {
    const from = keeper.mark();
    await castOverHttp(p, KEEPER, 'sync state-1');
    await keeper.hostReply('Sync', from);
    // the state API shows it under the member's name
    const stored = await p.api(`/v1/functions/${KEEPER}/state/edgeless-sync`);
    expect(stored.status).toBe(200);
    expect(await stored.text()).toBe('state-1');
    const nodeId = keeper.instance.node_id;

    // a new version of the function: the instance is stopped, booted and initialised again
    const restart = keeper.mark();
    await applyWorkflow(p, 'state', keeperWorkflow('1.1'));
    await keeper.got('Stop', restart);
    const again = await keeper.booted(restart);
    expect(again.init).toMatchObject({ init_payload: 'k=v', serialized_state: b64('state-1') });

    // Skiff stops and starts again on the same data directory: the workflow boots with the state, and
    // a delayed cast made before the stop is delivered after the start (it is durable)
    const delayed = keeper.mark();
    await castOverHttp(p, KEEPER, 'recast-delayed 1500 self slow 1 survived');
    await keeper.hostReply('DelayedCast', delayed);
    const { dataDir } = p;
    const reboot = keeper.mark();
    await p.stop();
    p = await startPlatform({ dataDir, config: EDGELESS_ON });
    const after = await keeper.booted(reboot, 40_000);
    const survived = await keeper.gotCast('slow 1 survived', delayed);
    expect(survived.at).toBeGreaterThan(after.init.at);
    expect(after.init).toMatchObject({ init_payload: 'k=v', serialized_state: b64('state-1') });
    expect(after.boot.instance_id?.node_id).toBe(nodeId);
    // and it is served again under its name
    const live = keeper.mark();
    await castOverHttp(p, KEEPER, 'recast self slow 1 alive');
    await keeper.gotCast('slow 1 alive', live);

    // deleting the key resets it: the next boot's Init carries nothing
    expect((await p.api(`/v1/functions/${KEEPER}/state/edgeless-sync`, { method: 'DELETE' })).status).toBe(
      204,
    );
    const reset = keeper.mark();
    await applyWorkflow(p, 'state', keeperWorkflow('1.2'));
    expect((await keeper.booted(reset)).init).toMatchObject({ serialized_state: '' });
  });
});
