/**
 * Red team: Sync state outlives the workflow. Deleting an EDGELESS workflow gives its member names up
 * but keeps their state (`edgeless-sync`), which is deleted only at the next platform start (the
 * orphan sweep in server.ts). Until then whoever next applies a workflow of that name, attaching a
 * different process, hands it the old instance's state in Init; a function deployed under the freed
 * name reads it too. The same state is gone after a restart, so this is no deliberate retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

let platform: TestPlatform;
let victim: HostileGuest;
let successor: HostileGuest;

const put = (url: string) =>
  platform.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(url)),
  });

beforeAll(async () => {
  victim = await startHostileGuest();
  successor = await startHostileGuest();
  platform = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
});

afterAll(async () => {
  await platform?.stop();
  await victim?.close();
  await successor?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: synced state of a deleted workflow', () => {
  it('a new workflow of the same name, attaching another process, does not get the old state in Init', async () => {
    expect((await put(victim.url)).status).toBe(201);
    await waitFor('victim Init', () => victim.seen.find((s) => s.method === 'Init'));
    await victim.host('Sync', {
      originator: victim.boot()?.id,
      serialized_state: Buffer.from('victim-secret'),
    });
    expect((await platform.api('/v1/workflows/w', { method: 'DELETE' })).status).toBe(204);
    expect((await put(successor.url)).status).toBe(201);
    const init = await waitFor('successor Init', () => successor.seen.find((s) => s.method === 'Init'));
    const state = (init.request['serialized_state'] as Buffer).toString();
    expect(state, 'the instance state of the deleted workflow was handed to another process').toBe('');
  });
});
