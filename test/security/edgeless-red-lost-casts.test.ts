/**
 * Red team: accepted casts to an attached instance are lost. `AttachedInstance.stop()` makes every
 * event waiting in the instance's lane fail with SKIFF_E_FUNCTION_NOT_FOUND ("stopped with its
 * workflow"), which the async queue counts as permanent and dead-letters. That happens not only when
 * the workflow is deleted but when it is merely re-applied with a changed init-payload (the member
 * still exists, served by a new instance) and at every graceful shutdown (the node stops before the
 * queue), so a 202-accepted cast is never delivered, not even after the restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

const CONFIG = { compat: { edgeless: { enabled: true } } } as never;
const N = 5;
let platform: TestPlatform | undefined;
let guest: HostileGuest | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await platform?.stop();
  await guest?.close();
  if (dataDir !== undefined) await removeDir(dataDir);
  platform = guest = dataDir = undefined;
});

/** A guest whose every Cast takes 400 ms: the later casts wait in the instance's lane. */
async function slowGuest(): Promise<HostileGuest> {
  return startHostileGuest({ cast: (_r, done) => setTimeout(() => done(null, {}), 400) });
}

async function apply(p: TestPlatform, url: string, initPayload: string): Promise<void> {
  const res = await p.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(url, initPayload)),
  });
  expect(res.status).toBeLessThan(300);
}

async function castMany(p: TestPlatform): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const res = await p.call('/w--fn', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: `e${i}`,
    });
    expect(res.status).toBe(202);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

async function outcomes(p: TestPlatform, ids: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const id of ids) {
    const res = await p.api(`/v1/invocations/${id}`);
    const { invocation } = (await res.json()) as { invocation: { status: string; error: unknown } };
    const key = invocation.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

const finalOf = (p: TestPlatform, ids: string[]) =>
  waitFor(
    'every cast final',
    async () => {
      const o = await outcomes(p, ids);
      return (o['succeeded'] ?? 0) + (o['failed'] ?? 0) + (o['expired'] ?? 0) === N ? o : undefined;
    },
    40_000,
  );

describe('EDGELESS red team: queued casts dead-lettered when an instance stops', () => {
  it('re-applying the workflow with a new init-payload does not dead-letter the casts waiting for the member', async () => {
    guest = await slowGuest();
    platform = await startPlatform({ config: CONFIG });
    dataDir = platform.dataDir;
    await apply(platform, guest.url, 'one');
    await waitFor('Init', () => guest?.seen.find((s) => s.method === 'Init'));
    const ids = await castMany(platform);
    await waitFor('first Cast', () => guest?.seen.find((s) => s.method === 'Cast'));
    // same member, same guest: only the init payload changes
    await apply(platform, guest.url, 'two');
    const final = await finalOf(platform, ids);
    expect(final, 'casts accepted with 202 for a member that still exists were dead-lettered').toEqual({
      succeeded: N,
    });
  });

  it('a graceful restart delivers every accepted cast (none dead-lettered at shutdown)', async () => {
    guest = await slowGuest();
    platform = await startPlatform({ config: CONFIG });
    dataDir = platform.dataDir;
    await apply(platform, guest.url, 'one');
    await waitFor('Init', () => guest?.seen.find((s) => s.method === 'Init'));
    const ids = await castMany(platform);
    await waitFor('first Cast', () => guest?.seen.find((s) => s.method === 'Cast'));
    await platform.stop();
    platform = await startPlatform({ dataDir, config: CONFIG });
    const final = await finalOf(platform, ids);
    expect(final, 'casts accepted with 202 were dead-lettered by the shutdown').toEqual({ succeeded: N });
  });
});
