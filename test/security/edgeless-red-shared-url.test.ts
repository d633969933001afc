/**
 * Red team, hostile TENANT: two workflows attach the same `grpc:<url>`. Nothing refuses it. The second
 * workflow's instance boots the process (a refused Boot gets a Stop first, so it even takes over a
 * guest that refuses a second Boot): from then on the guest talks to the second workflow's host
 * listener, with its id, while the first workflow still routes its events to it. The first
 * workflow's outputs go where the second maps them, and the second can kick the first's instance at
 * will (every re-apply). The same happens within one workflow (two members naming one URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

let platform: TestPlatform;
let guest: HostileGuest;

const put = (name: string, body: unknown) =>
  platform.api(`/v1/workflows/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  // this guest takes any Boot; upstream's refuses a second one, and Skiff then sends it a Stop first
  guest = await startHostileGuest();
  platform = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
});

afterAll(async () => {
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: one instance URL attached by two workflows', () => {
  it('a second workflow cannot attach (and re-boot) the instance another workflow holds', async () => {
    expect((await put('victim', attachWorkflow(guest.url))).status).toBe(201);
    await waitFor('victim booted', () => guest.seen.find((s) => s.method === 'Init'));
    const victimEndpoint = guest.boot()?.endpoint;
    const res = await put('thief', attachWorkflow(guest.url));
    if (res.status < 300) {
      // give the thief's boot a moment to land (it is started at once)
      await waitFor(
        'a second Boot',
        () => (guest.seen.filter((s) => s.method === 'Boot').length > 1 ? true : undefined),
        5_000,
      ).catch(() => undefined);
    }
    const boots = guest.seen.filter((s) => s.method === 'Boot').length;
    expect(
      { applied: res.status < 300, boots, endpoint: guest.boot()?.endpoint === victimEndpoint },
      "workflow 'thief' attached the instance of workflow 'victim' and re-booted it to its own host",
    ).toEqual({ applied: false, boots: 1, endpoint: true });
  });

  it('two members of one workflow naming the same URL are refused', async () => {
    const doc = attachWorkflow(guest.url) as { functions: Record<string, unknown>[] };
    const twin = JSON.parse(JSON.stringify(doc.functions[0])) as Record<string, unknown>;
    twin['name'] = 'twin';
    doc.functions.push(twin);
    const res = await put('twins', doc);
    expect(res.status, 'one process attached twice in one workflow').toBeGreaterThanOrEqual(400);
  });
});
