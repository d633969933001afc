/**
 * EDGELESS's guest API as Skiff writes it down (proto/edgeless/guest_api.proto, loaded by
 * src/compat/edgeless/guest-api.ts) against a guest built independently in Debian's Python grpcio
 * (test/fixtures/edgeless/guest.py, behaving like runtime-python's template function), through the
 * host emulator: method paths, field numbers (serialized_state on 10), every behaviour of the guest,
 * its lifecycle and byte-clean payloads. The tests run in order against one guest process: each
 * starts in the state the one before left it in (booted, initialised, stopped).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FUNCTION_SERVICE,
  HOST_SERVICE,
  guestApiServices,
  loadGuestApi,
  type InstanceId,
} from '../../src/compat/edgeless/guest-api.js';
import { waitFor } from '../helpers/wait.js';
import { GuestClient, HOST_RPCS, HostEmulator } from './host-emulator.js';

const PYTHON = '/usr/bin/python3';
const GUEST = path.resolve(import.meta.dirname, '..', 'fixtures', 'edgeless', 'guest.py');

/** One line the guest wrote on stdout. */
interface GuestEvent {
  event?: string;
  method?: string;
  port?: number;
  src?: InstanceId;
  msg?: string;
  init_payload?: string;
  serialized_state?: string;
  endpoint?: string;
  instance_id?: InstanceId;
}

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
const newId = (): InstanceId => ({ node_id: randomUUID(), function_id: randomUUID() });

describe('the guest API between the host emulator and a Python guest', () => {
  let host: HostEmulator;
  let child: ChildProcess;
  let guest: GuestClient;
  const events: GuestEvent[] = [];
  const stderr: string[] = [];
  const self = newId();
  const peer = newId();

  /** The first guest event after `from` that has `method` and passes `match`. */
  const guestGot = (method: string, from: number, match: (e: GuestEvent) => boolean = () => true) =>
    waitFor(
      () => `the guest to log ${method} (stderr: ${stderr.join('').slice(-2000)})`,
      () => events.slice(from).find((e) => e.method === method && match(e)),
      10_000,
    );

  beforeAll(async () => {
    host = await HostEmulator.start({ slf: () => self });
    child = spawn(PYTHON, [GUEST, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      events.push(JSON.parse(line) as GuestEvent);
    });
    const serving = await waitFor(
      () => `the guest to serve (stderr: ${stderr.join('')})`,
      () => events.find((e) => e.event === 'serving'),
      20_000,
    );
    guest = new GuestClient(`127.0.0.1:${serving.port}`);
  });

  afterAll(async () => {
    guest?.close();
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await host?.stop();
  });

  it("builds the same messages, enums and services as the proto (the guest's descriptors)", () => {
    const described = JSON.parse(execFileSync(PYTHON, [GUEST, '--describe'], { encoding: 'utf8' })) as {
      messages: Record<string, [string, number, string, string | null][]>;
      enums: Record<string, [string, number][]>;
      services: Record<string, Record<string, [string, string]>>;
    };
    const last = (name: string | null) => (name ? (name.split('.').at(-1) ?? '') : '');
    const definition = loadGuestApi();
    const ours: Record<string, unknown> = {};
    const enums: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(definition)) {
      if (!name.startsWith('edgeless_api.') || !('format' in entry)) continue;
      const type = entry.type as {
        field?: { name: string; number: number; type: string; typeName: string }[];
        value?: { name: string; number: number }[];
      };
      if (type.field !== undefined) {
        ours[last(name)] = type.field.map((f) => [f.name, f.number, f.type, last(f.typeName)]);
      } else if (type.value !== undefined) {
        enums[last(name)] = type.value.map((v) => [v.name, v.number]);
      }
    }
    const theirs = Object.fromEntries(
      Object.entries(described.messages).map(([name, fields]) => [
        name,
        fields.map(([field, number, type, typeName]) => [field, number, type, last(typeName)]),
      ]),
    );
    expect(theirs).toEqual(ours);
    expect(described.enums).toEqual(enums);
    expect(Object.keys(ours)).toHaveLength(11);
    expect(ours['FunctionInstanceInit']).toContainEqual(['serialized_state', 10, 'TYPE_BYTES', '']);
    expect(ours['DelayedEventData']).toContainEqual([
      'metadata',
      5,
      'TYPE_MESSAGE',
      'EventSerializedMetadata',
    ]);
    const services = guestApiServices(definition);
    for (const [serviceName, service] of [
      [FUNCTION_SERVICE, services.guestApiFunction],
      [HOST_SERVICE, services.guestApiHost],
    ] as const) {
      const rpcs = Object.fromEntries(
        Object.entries(service).map(([rpc, method]) => {
          const m = method as unknown as {
            requestType: { type: { name: string } };
            responseType: { type: { name: string } };
          };
          return [rpc, [m.requestType.type.name, m.responseType.type.name]];
        }),
      );
      const guestRpcs = Object.fromEntries(
        Object.entries(described.services[serviceName] ?? {}).map(([rpc, [req, res]]) => [
          rpc,
          [last(req), last(res)],
        ]),
      );
      expect(guestRpcs).toEqual(rpcs);
    }
  });

  it('names the methods /edgeless_api.GuestAPIFunction/* and /edgeless_api.GuestAPIHost/*', () => {
    const { guestApiFunction, guestApiHost } = guestApiServices();
    expect(Object.values(guestApiFunction).map((m) => m.path)).toEqual(
      ['Boot', 'Init', 'Cast', 'Call', 'Stop'].map((rpc) => `/edgeless_api.GuestAPIFunction/${rpc}`),
    );
    expect(Object.values(guestApiHost).map((m) => m.path)).toEqual(
      HOST_RPCS.map((rpc) => `/edgeless_api.GuestAPIHost/${rpc}`),
    );
  });

  it('refuses Init, Cast, Call and Stop before Boot', async () => {
    for (const attempt of [
      () => guest.init({ init_payload: 'x' }),
      () => guest.cast({ src: peer, msg: Buffer.from('hello') }),
      () => guest.call({ src: peer, msg: Buffer.from('hello') }),
      () => guest.stop(),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        code: status.UNKNOWN,
        details: expect.stringContaining('PRE_BOOTED'),
      });
    }
  });

  it('boots with the host URL and the instance id, then refuses a second Boot and a Cast before Init', async () => {
    const from = events.length;
    await guest.boot({ guest_api_host_endpoint: host.endpoint, instance_id: self });
    expect(await guestGot('Boot', from)).toMatchObject({ endpoint: host.endpoint, instance_id: self });
    await expect(
      guest.boot({ guest_api_host_endpoint: host.endpoint, instance_id: self }),
    ).rejects.toMatchObject({
      details: expect.stringContaining('Boot in state BOOTED'),
    });
    await expect(guest.cast({ src: peer, msg: Buffer.from('x') })).rejects.toMatchObject({
      details: expect.stringContaining('Cast in state BOOTED'),
    });
  });

  it('sends Init serialized_state as field 10, and the guest reads it there', async () => {
    const state = Buffer.from([0x00, 0xff, 0xfe, 0x41]);
    const bytes = guest.encode('Init', { init_payload: 'factor=2', serialized_state: state });
    // field 1 (tag 0x0a) "factor=2", then field 10 as length-delimited: tag (10 << 3) | 2 = 0x52
    expect(bytes).toEqual(
      Buffer.concat([Buffer.from([0x0a, 8]), Buffer.from('factor=2'), Buffer.from([0x52, 4]), state]),
    );
    const from = events.length;
    await guest.init({ init_payload: 'factor=2', serialized_state: state });
    expect(await guestGot('Init', from)).toMatchObject({
      init_payload: 'factor=2',
      serialized_state: b64(state),
    });
    await expect(guest.init({})).rejects.toMatchObject({
      details: expect.stringContaining('Init in state INITIALIZED'),
    });
  });

  it('recast ALIAS MSG: a host Cast with the alias, the message and the originator', async () => {
    const from = events.length;
    await guest.cast({ src: peer, msg: Buffer.from('recast next hello there') });
    expect(await guestGot('Cast', from)).toMatchObject({ src: peer, msg: b64('recast next hello there') });
    const call = await host.next('Cast', (r) => r.alias === 'next');
    expect(call.path).toBe('/edgeless_api.GuestAPIHost/Cast');
    expect(call.request).toEqual({ originator: self, alias: 'next', msg: Buffer.from('hello there') });
  });

  it('recast-raw NODE FID MSG: a host CastRaw to that id', async () => {
    const target = newId();
    await guest.cast({
      src: peer,
      msg: Buffer.from(`recast-raw ${target.node_id} ${target.function_id} raw-1`),
    });
    const call = await host.next('CastRaw');
    expect(call.path).toBe('/edgeless_api.GuestAPIHost/CastRaw');
    expect(call.request).toEqual({ originator: self, dst: target, msg: Buffer.from('raw-1') });
  });

  it('recast-delayed MS ALIAS MSG: a host DelayedCast of that delay, without metadata', async () => {
    await guest.cast({ src: peer, msg: Buffer.from('recast-delayed 1000 self x') });
    const call = await host.next('DelayedCast');
    expect(call.path).toBe('/edgeless_api.GuestAPIHost/DelayedCast');
    expect(call.request).toEqual({
      originator: self,
      alias: 'self',
      msg: Buffer.from('x'),
      delay: '1000',
      metadata: null,
    });
  });

  it('telemetry-log TARGET MSG: a host TelemetryLog at LOG_INFO', async () => {
    await guest.cast({ src: peer, msg: Buffer.from('telemetry-log t hello world') });
    const call = await host.next('TelemetryLog');
    expect(call.path).toBe('/edgeless_api.GuestAPIHost/TelemetryLog');
    expect(call.request).toEqual({
      originator: self,
      log_level: 'LOG_INFO',
      target: 't',
      msg: 'hello world',
    });
  });

  it('sync TEXT: a host Sync with the text as the state', async () => {
    await guest.cast({ src: peer, msg: Buffer.from('sync state-1 and more') });
    const call = await host.next('Sync');
    expect(call.path).toBe('/edgeless_api.GuestAPIHost/Sync');
    expect(call.request).toEqual({ originator: self, serialized_state: Buffer.from('state-1 and more') });
  });

  it('any other cast (bytes ff fe): after about a second a host Cast to output with the bytes unchanged', async () => {
    const bytes = Buffer.from([0xff, 0xfe]);
    const from = events.length;
    const sent = Date.now();
    await guest.cast({ src: peer, msg: bytes });
    expect(await guestGot('Cast', from)).toMatchObject({ msg: b64(bytes) });
    const call = await host.next('Cast', (r) => r.alias === 'output');
    expect(call.request).toEqual({ originator: self, alias: 'output', msg: bytes });
    expect(call.at - sent).toBeGreaterThanOrEqual(950);
  });

  it('calls: an echo as CALL_RET_REPLY, err as CALL_RET_ERR, noret as type 3 (a number the enum does not name)', async () => {
    expect(await guest.call({ src: peer, msg: Buffer.from('echo-me') })).toEqual({
      type: 'CALL_RET_REPLY',
      msg: Buffer.from('echo-me'),
    });
    expect(await guest.call({ src: peer, msg: Buffer.from([0xff, 0xfe]) })).toEqual({
      type: 'CALL_RET_REPLY',
      msg: Buffer.from([0xff, 0xfe]),
    });
    expect(await guest.call({ src: peer, msg: Buffer.from('err') })).toMatchObject({ type: 'CALL_RET_ERR' });
    expect(await guest.call({ src: peer, msg: Buffer.from('noret') })).toMatchObject({ type: 3 });
  });

  it('recall ALIAS MSG: a host Call with the alias and the message; the reply is not passed on', async () => {
    const from = events.length;
    const answer = await guest.call({ src: peer, msg: Buffer.from('recall other ask') });
    expect(await guestGot('Call', from)).toMatchObject({ src: peer, msg: b64('recall other ask') });
    const call = await host.next('Call');
    expect(call.path).toBe('/edgeless_api.GuestAPIHost/Call');
    expect(call.request).toEqual({ originator: self, alias: 'other', msg: Buffer.from('ask') });
    expect(answer).toEqual({ type: 'CALL_RET_NO_REPLY', msg: Buffer.alloc(0) });
  });

  it('stops, refuses events and a second Stop, then boots and initialises again', async () => {
    const from = events.length;
    await guest.stop();
    await guestGot('Stop', from);
    await expect(guest.cast({ src: peer, msg: Buffer.from('x') })).rejects.toMatchObject({
      details: expect.stringContaining('Cast in state STOPPED'),
    });
    await expect(guest.stop()).rejects.toMatchObject({
      details: expect.stringContaining('Stop in state STOPPED'),
    });
    const again = newId();
    await guest.boot({ guest_api_host_endpoint: host.endpoint, instance_id: again });
    await guest.init({ init_payload: '' });
    expect(await guestGot('Boot', from)).toMatchObject({ instance_id: again });
    await guest.cast({ src: peer, msg: Buffer.from('recast after reboot') });
    const call = await host.next('Cast', (r) => r.alias === 'after');
    expect(call.request.originator).toEqual(again);
    expect(guest.paths.every((p) => p.startsWith('/edgeless_api.GuestAPIFunction/'))).toBe(true);
  });
});
