/**
 * Red team: `access.callers` is checked when a cast is accepted, not when it runs. A cast delayed (up to
 * 24 h) or waiting in the queue keeps the caster's permission after the target's owner revoked it with a
 * redeploy: the target then runs an invocation from a caller its skiff.json refuses. Asserted: a queued
 * cast whose caster the target no longer accepts does not run the target (it fails SKIFF_E_FORBIDDEN),
 * and a cast queued for a function that was deleted does not run in a new function given the same name.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type LogLine, type TestPlatform } from '../helpers/platform.js';
import { TMP_PREFIX } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
let dir: string;

async function guarded(callers: string[]): Promise<string> {
  const fn = await mkdtemp(path.join(dir, 'guarded-'));
  await cp(fixture('cast-sink'), fn, { recursive: true });
  await writeFile(path.join(fn, 'skiff.json'), JSON.stringify({ runtime: 'node', access: { callers } }));
  return fn;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  p = await startPlatform();
  await p.deployAll({ caster: 'cast-node' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

describe('access.callers revoked while a cast waits', () => {
  it('a delayed cast accepted before the revocation does not run the target after it', async () => {
    expect((await p.deploy('guarded', await guarded(['caster']))).status).toBe(201);
    const res = await p.call('/caster/delayed?ms=2000&to=guarded', { method: 'POST', body: 'secret-op' });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    // the owner of `guarded` revokes caster's permission: no caller at all
    expect((await p.deploy('guarded', await guarded([]))).status).toBe(200);
    // a fresh cast is refused now ...
    const fresh = await p.call('/caster/cast?to=guarded', { method: 'POST', body: 'fresh' });
    expect(((await fresh.json()) as { code?: string }).code).toBe('SKIFF_E_FORBIDDEN');
    // ... and the one accepted before must not run either
    const view = await waitFor(
      `cast ${id} to end`,
      async () => {
        const r = await p.api(`/v1/invocations/${id}`);
        const { invocation } = (await r.json()) as {
          invocation: { status: string; result: { status: number } | null; error?: { code: string } | null };
        };
        return ['queued', 'running'].includes(invocation.status) ? undefined : invocation;
      },
      30_000,
    );
    const logs: LogLine[] = await p.logs('guarded');
    const ran = logs.filter((l) => l.message.includes('ran secret-op')).length;
    expect({ status: view.status, ran }).toEqual({ status: 'failed', ran: 0 });
  }, 60_000);
  it('a delayed cast to a function that was deleted does not run in a new function given its name', async () => {
    expect((await p.deploy('billing', await guarded(['caster']))).status).toBe(201);
    const res = await p.call('/caster/delayed?ms=2000&to=billing', { method: 'POST', body: 'card-4242' });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    // its owner deletes billing; someone else creates a function under the name (open to every caller)
    expect((await p.api('/v1/functions/billing', { method: 'DELETE' })).status).toBe(204);
    const fn = await mkdtemp(path.join(dir, 'stranger-'));
    await cp(fixture('cast-sink'), fn, { recursive: true });
    expect((await p.deploy('billing', fn)).status).toBe(201);
    const view = await waitFor(
      `cast ${id} to end`,
      async () => {
        const r = await p.api(`/v1/invocations/${id}`);
        const { invocation } = (await r.json()) as { invocation: { status: string } };
        return ['queued', 'running'].includes(invocation.status) ? undefined : invocation;
      },
      30_000,
    );
    const logs: LogLine[] = await p.logs('billing');
    const ran = logs.filter((l) => l.message.includes('ran card-4242')).length;
    expect({ status: view.status, ran }).toEqual({ status: 'failed', ran: 0 });
  }, 60_000);
});
