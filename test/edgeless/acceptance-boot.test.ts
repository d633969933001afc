/**
 * EDGELESS acceptance on the real platform, points 1, 2, 17 and 18 of docs/compat/edgeless.md's list:
 * attaching a running guest (Boot, Init), the workflows refused, stopping a workflow and booting the
 * same processes again, and the guest API's wire shape between Skiff and an independently built guest
 * (test/fixtures/edgeless/guest.py, behaving like runtime-python's template function).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyWorkflow,
  b64,
  callOverHttp,
  castOverHttp,
  deleteWorkflow,
  EDGELESS_ON,
  edgelessWorkflow,
  freePort,
  Guest,
  HostClient,
  memberName,
  putWorkflow,
  startGuests,
  stopGuests,
  UUID,
  type MemberSpec,
} from '../helpers/edgeless-guests.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { GuestClient } from './host-emulator.js';

describe('EDGELESS acceptance: attaching, refusals, stopping, the wire', () => {
  let p: TestPlatform;
  let guests: Guest[] = [];
  let one: Guest;
  let a: Guest;
  let b: Guest;
  let left: Guest;
  const ONE = 'boot-one';

  beforeAll(async () => {
    [p, guests] = await Promise.all([startPlatform({ config: EDGELESS_ON }), startGuests(4)]);
    [one, a, b, left] = guests as [Guest, Guest, Guest, Guest];
  });

  afterAll(async () => {
    await stopGuests(guests);
    await p?.stop();
  });

  it('1: boots an attached instance with a reachable host URL and UUID ids, then Inits it with init-payload', async () => {
    const from = one.mark();
    const applied = await applyWorkflow(
      p,
      ONE,
      edgelessWorkflow([{ name: 'doubler', guest: one, annotations: { 'init-payload': 'factor=2' } }]),
    );
    expect(applied.warnings).toEqual([]);
    const { boot, init } = await one.booted(from);
    expect(boot.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/?$/);
    expect(boot.instance_id?.node_id).toMatch(UUID);
    expect(boot.instance_id?.function_id).toMatch(UUID);
    expect(boot.instance_id?.function_id).not.toBe(boot.instance_id?.node_id);
    // the node id is the platform's, kept in its data directory
    const nodeId = (await readFile(path.join(p.dataDir, 'edgeless', 'node-id'), 'utf8')).trim();
    expect(boot.instance_id?.node_id).toBe(nodeId);
    expect(init).toMatchObject({ init_payload: 'factor=2', serialized_state: '' });
    expect(one.all('Boot', from)).toHaveLength(1);
    expect(one.all('Init', from)).toHaveLength(1);
    // reachable: the test dials the announced URL itself and the host knows the instance it serves
    const host = new HostClient(boot.endpoint ?? '');
    try {
      expect(await host.unary('Slf', {})).toEqual(boot.instance_id);
    } finally {
      host.close();
    }
  });

  it('1: an instance that starts listening after the workflow is applied is booted once it does', async () => {
    const port = await freePort();
    const code = `grpc:http://127.0.0.1:${port}`;
    await applyWorkflow(p, 'late', edgelessWorkflow([{ name: 'w', code }]));
    // the call waits for the boot; the process starts only now (Python takes a while to listen)
    const answer = callOverHttp(p, memberName('late', 'w'), 'hi-late');
    const late = await Guest.start(port);
    guests.push(late);
    const { init } = await late.booted();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hi-late');
    expect(late.events.indexOf(init)).toBeLessThan(late.events.findIndex((e) => e.method === 'Call'));
  });

  it('2: refuses container: without an OCI runner, ftp:x, nocolon, duplicate names, unknown targets and no functions (400, naming the field)', async () => {
    const fn = (over: Partial<MemberSpec> = {}): MemberSpec => ({
      name: 'f',
      code: 'grpc:http://127.0.0.1:1',
      ...over,
    });
    const cases: [string, Record<string, unknown>, string[]][] = [
      [
        'container',
        edgelessWorkflow([fn({ code: 'container:python-function:latest' })]),
        ['functions[0].class_specification.code', 'OCI runner'],
      ],
      [
        'ftp',
        edgelessWorkflow([fn({ code: 'ftp:x' })]),
        ['functions[0].class_specification.code', 'container function type not implemented: ftp'],
      ],
      [
        'nocolon',
        edgelessWorkflow([fn({ code: 'nocolon' })]),
        ['functions[0].class_specification.code', 'invalid container function specifier: nocolon'],
      ],
      [
        'duplicate',
        edgelessWorkflow([fn(), fn({ code: 'grpc:http://127.0.0.1:2' })]),
        ['functions[1].name', '"f"'],
      ],
      [
        'unknown-target',
        edgelessWorkflow([fn({ mapping: { out: 'nobody' } })]),
        ['functions[0].output_mapping.out', '"nobody"'],
      ],
      ['empty', { functions: [], resources: [], annotations: {} }, ['functions']],
      // refused-long--mmm… is 64 characters: longer than a Skiff name may be
      ['long', edgelessWorkflow([fn({ name: 'm'.repeat(50) })]), ['functions[0].name', '63']],
    ];
    for (const [name, body, words] of cases) {
      const res = await putWorkflow(p, `refused-${name}`, body);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      expect({ name, status: res.status, code: answer.error.code }).toEqual({
        name,
        status: 400,
        code: 'SKIFF_E_INVALID_SPEC',
      });
      for (const word of words) expect(answer.error.message, name).toContain(word);
      expect((await p.api(`/v1/workflows/refused-${name}`)).status, name).toBe(404);
    }
  });

  it('17: deleting the workflow Stops every instance; applying it again boots the same processes', async () => {
    const wf = edgelessWorkflow([
      { name: 'a', guest: a, mapping: { out: 'b' } },
      { name: 'b', guest: b },
    ]);
    const [fromA, fromB] = [a.mark(), b.mark()];
    await applyWorkflow(p, 'stopper', wf);
    const [first] = await Promise.all([a.booted(fromA), b.booted(fromB)]);
    await deleteWorkflow(p, 'stopper');
    await a.got('Stop', fromA);
    await b.got('Stop', fromB);
    const gone = await castOrStatus(p, memberName('stopper', 'a'));
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: 'SKIFF_E_FUNCTION_NOT_FOUND' } });

    const [againA, againB] = [a.mark(), b.mark()];
    await applyWorkflow(p, 'stopper', wf);
    const [second] = await Promise.all([a.booted(againA), b.booted(againB)]);
    // a fresh instance id per boot, on the same node
    expect(second.boot.instance_id?.function_id).not.toBe(first.boot.instance_id?.function_id);
    expect(second.boot.instance_id?.node_id).toBe(first.boot.instance_id?.node_id);
    await castOverHttp(p, memberName('stopper', 'a'), 'recast out again');
    expect((await b.gotCast('again', againB)).src).toEqual(a.instance);
    expect(a.hostErrors(fromA)).toEqual([]);
  });

  it('17: an instance an earlier node left initialised gets one Stop, then Boot and Init', async () => {
    // the test plays the earlier node: it boots and initialises the guest, and goes away
    const earlier = new GuestClient(left.code.slice('grpc:http://'.length));
    try {
      const id = { node_id: randomUUID(), function_id: randomUUID() };
      await earlier.boot({ guest_api_host_endpoint: 'http://127.0.0.1:1/', instance_id: id });
      await earlier.init({ init_payload: 'earlier' });
    } finally {
      earlier.close();
    }
    await left.got('Init', 0, (e) => e.init_payload === 'earlier');
    const from = left.mark();
    await applyWorkflow(p, 'leftover', edgelessWorkflow([{ name: 'left', guest: left }]));
    const { init } = await left.booted(from);
    const lifecycle = left.events
      .slice(from, left.events.indexOf(init) + 1)
      .filter((e) => e.method !== undefined)
      .map((e) => e.method);
    expect(lifecycle).toEqual(['Stop', 'Boot', 'Init']);
    const reply = await callOverHttp(p, memberName('leftover', 'left'), 'after-takeover');
    expect(await reply.text()).toBe('after-takeover');
  });

  it("18: Skiff's stubs and the Python guest's interoperate: every host RPC answered, wrong paths unknown, state on field 10", async () => {
    const member = memberName(ONE, 'doubler');
    const from = one.mark();
    const self = one.instance;
    const state = Buffer.from([0x00, 0xff, 0x73, 0x0a]);
    // each re-cast is a `slow 1 …` payload: the guest takes it without casting further
    const commands: [string | Buffer, string][] = [
      ['recast self slow 1 to-self', 'Cast'],
      [`recast-raw ${self.node_id} ${self.function_id} slow 1 raw-self`, 'CastRaw'],
      ['recast-delayed 10 self slow 1 delayed-self', 'DelayedCast'],
      ['telemetry-log t wire', 'TelemetryLog'],
      ['slf', 'Slf'],
      [Buffer.concat([Buffer.from('sync '), state]), 'Sync'],
    ];
    for (const [command, rpc] of commands) {
      await castOverHttp(p, member, command);
      await one.hostReply(rpc, from);
    }
    for (const msg of ['to-self', 'raw-self', 'delayed-self']) await one.gotCast(`slow 1 ${msg}`, from);
    expect(one.hostErrors(from)).toEqual([]);

    // the host serves /edgeless_api.GuestAPIHost/*: the same RPC under another package is unknown
    const endpoint = one.events.findLast((e) => e.method === 'Boot')?.endpoint ?? '';
    const host = new HostClient(endpoint);
    try {
      await expect(host.unary('Slf', {}, '/edgeless.GuestAPIHost/Slf')).rejects.toMatchObject({
        code: status.UNIMPLEMENTED,
      });
    } finally {
      host.close();
    }

    // the synced bytes come back in Init.serialized_state, which the guest reads as field 10
    const restart = one.mark();
    await applyWorkflow(
      p,
      ONE,
      edgelessWorkflow([
        { name: 'doubler', guest: one, version: '1.1', annotations: { 'init-payload': 'factor=2' } },
      ]),
    );
    await one.got('Stop', restart);
    const { init } = await one.booted(restart);
    expect(init.serialized_state).toBe(b64(state));
  });
});

/** An async cast's answer, whatever it is (to see a member is gone). */
function castOrStatus(p: TestPlatform, target: string): Promise<Response> {
  return p.call(`/${target}`, { method: 'POST', headers: { 'x-skiff-async': 'true' }, body: 'x' });
}
