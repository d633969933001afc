/**
 * Red team, hostile LOCAL CLIENT of a GuestAPIHost listener: the instance id is the only thing a
 * host request must present ("an instance's id, fresh at every boot, is what a request must present"),
 * but `Slf` answers it to anyone who connects, without any originator. A local process that finds the
 * listener's port (127.0.0.1, one per instance) learns the id and then speaks as the instance:
 * overwrites its synced state, casts into its workflow, writes its log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

let platform: TestPlatform;
let guest: HostileGuest;

beforeAll(async () => {
  guest = await startHostileGuest();
  platform = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
  const res = await platform.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(guest.url)),
  });
  expect(res.status).toBe(201);
  await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
});

afterAll(async () => {
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: Slf hands the instance credential to any local client', () => {
  it('a client that never booted anything cannot learn the instance id from Slf and then overwrite its Sync state', async () => {
    const booted = guest.boot();
    expect(booted).toBeDefined();
    const endpoint = booted?.endpoint ?? '';
    // the attacker: a separate client of the same listener, knowing nothing but the port
    const attacker = await startHostileGuest();
    try {
      const leaked = (await attacker.host('Slf', {}, endpoint).catch(() => undefined)) as
        { node_id: string; function_id: string } | undefined;
      if (leaked !== undefined && leaked.function_id !== '') {
        // with the leaked id the attacker is the instance: Sync, Cast, TelemetryLog all pass
        await attacker
          .host(
            'Sync',
            { originator: leaked, serialized_state: Buffer.from('pwned-by-local-client') },
            endpoint,
          )
          .catch(() => undefined);
      }
      const state = await platform.api('/v1/functions/w--fn/state/edgeless-sync');
      const body = state.status === 200 ? await state.text() : '';
      expect(
        { leakedId: leaked?.function_id === booted?.id.function_id, syncedState: body },
        'Slf answered the instance id to an unauthenticated local client, which then rewrote the instance state',
      ).toEqual({ leakedId: false, syncedState: '' });
    } finally {
      await attacker.close();
    }
  });

  it('a leaked id lets the local client cast into the workflow as the instance (a line in the file log)', async () => {
    const endpoint = guest.boot()?.endpoint ?? '';
    const attacker = await startHostileGuest();
    try {
      const leaked = await attacker.host('Slf', {}, endpoint).catch(() => undefined);
      let accepted = false;
      if (leaked !== undefined) {
        accepted = await attacker
          .host('Cast', { originator: leaked, alias: 'output', msg: Buffer.from('forged-line') }, endpoint)
          .then(
            () => true,
            () => false,
          );
      }
      expect(accepted, 'a local client forged a Cast of the instance with the id Slf gave it').toBe(false);
    } finally {
      await attacker.close();
    }
  });

  it("a guest of another workflow cannot act as this workflow's instance (Slf on its listener)", async () => {
    const thief = await startHostileGuest();
    try {
      const doc = attachWorkflow(thief.url) as { resources: { configurations: Record<string, string> }[] };
      doc.resources[0]!.configurations['filename'] = 'thief.log';
      const res = await platform.api('/v1/workflows/thief', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(doc),
      });
      expect(res.status).toBe(201);
      await waitFor('thief Init', () => thief.seen.find((s) => s.method === 'Init'));
      // the thief's guest reaches workflow w's listener (127.0.0.1, a port it can scan for)
      const victimEndpoint = guest.boot()?.endpoint ?? '';
      const victimId = await thief.host('Slf', {}, victimEndpoint).catch(() => undefined);
      const synced =
        victimId === undefined
          ? false
          : await thief
              .host(
                'Sync',
                { originator: victimId, serialized_state: Buffer.from('thief-was-here') },
                victimEndpoint,
              )
              .then(
                () => true,
                () => false,
              );
      expect(synced, "workflow thief's guest rewrote the Sync state of workflow w's instance").toBe(false);
    } finally {
      await thief.close();
    }
  });
});
