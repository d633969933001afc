/**
 * Red team 2, hostile GUEST (and the tenant who next takes the name): state that outlives its member.
 *
 * "A member's synced state is deleted with the member" (docs/security.md): deleting a workflow frees
 * the member's name and deletes its state at once (`forget`), but the instance is stopped afterwards,
 * and its host listener keeps taking the instance's requests while the event in delivery drains (up
 * to two seconds). A Sync sent then (runtime-python syncs at the end of an event) writes the state
 * back under the freed name. Whoever deploys a function under that name next reads it as its own
 * state (`ctx.state`, `/v1/functions/<name>/state`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EDGELESS_ON,
  Guest,
  HostClient,
  applyWorkflow,
  castOverHttp,
  edgelessWorkflow,
  memberName,
  stopGuests,
} from '../helpers/edgeless-guests.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let platform: TestPlatform;
let guest: Guest | undefined;
let host: HostClient | undefined;

beforeAll(async () => {
  platform = await startPlatform({ config: EDGELESS_ON as never });
  guest = await Guest.start();
}, 30_000);

afterAll(async () => {
  host?.close();
  await stopGuests([guest]);
  await platform.stop();
  await removeDir(platform.dataDir);
});

describe('red2: a Sync while the deleted member drains', () => {
  it("is not kept for the next function deployed under the member's name", async () => {
    const g = guest!;
    await applyWorkflow(platform, 'wf', edgelessWorkflow([{ name: 'x', guest: g }]));
    const { boot } = await g.booted();
    const name = memberName('wf', 'x');

    // an event the guest takes a while with
    const from = g.mark();
    await castOverHttp(platform, name, 'slow 1500 busy');
    await g.got('Cast', from);
    const deleted = await platform.api('/v1/workflows/wf', { method: 'DELETE' });
    expect(deleted.status).toBe(204);

    // the guest, finishing its event, syncs (as the instance it was booted as)
    host = new HostClient(boot.endpoint ?? '');
    const synced = await host
      .unary('Sync', { originator: boot.instance_id, serialized_state: Buffer.from('wf-secret') })
      .then(
        () => 'accepted',
        (err: Error) => err.message,
      );
    await g.got('Stop', from);

    // the name is free: another tenant deploys a function under it
    const res = await platform.deploy(name, fixture('py-echo'));
    expect(res.status).toBe(201);
    const state = await platform.api(`/v1/functions/${name}/state/edgeless-sync`);
    const text = await state.text();
    expect(state.status, `the Sync was ${synced}; the new function's state: ${text}`).toBe(404);
  }, 60_000);
});
