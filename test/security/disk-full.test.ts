/**
 * Filling the data disk through the unauthenticated async gateway. Bodies of 200 KiB are queued
 * until the platform refuses: 503 SKIFF_E_QUEUE_FULL (with Retry-After, nothing written) when the
 * queued bytes reach `async.maxQueuedBytes`, 507 SKIFF_E_DISK_FULL when the disk fills first (a data
 * directory on a 16 MiB tmpfs, the quota above it). Every id that got a 202 must still be readable
 * and reach a terminal state; then a delete works on the full disk and frees space, and a deploy and
 * an async call work again.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { TMP_PREFIX } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const BODY = Buffer.alloc(200 * 1024, 'x');
const MiB = 1024 * 1024;
const TERMINAL = ['succeeded', 'failed', 'expired'];

interface View {
  id: string;
  status: string;
}

async function queueAsync(p: TestPlatform, route: string): Promise<Response> {
  return p.call(route, { method: 'POST', headers: { 'x-skiff-async': 'true' }, body: BODY });
}

/** Sends async calls until the first refusal (at most `max`); the ids of those accepted and the refusal. */
async function fill(
  p: TestPlatform,
  route: string,
  max: number,
): Promise<{ ids: string[]; refusal: Response }> {
  const ids: string[] = [];
  for (let i = 0; i < max; i++) {
    const res = await queueAsync(p, route);
    if (res.status !== 202) return { ids, refusal: res };
    ids.push(((await res.json()) as { id: string }).id);
  }
  throw new Error(`${max} async calls were all accepted`);
}

/** Waits (bounded) until every id has a terminal record; returns the records. */
async function allTerminal(p: TestPlatform, ids: string[], ms = 60_000): Promise<View[]> {
  let open = 0;
  return waitFor(
    () => `every record to be terminal; ${open} are not`,
    async () => {
      const views = await Promise.all(
        ids.map(async (id) => {
          const res = await p.api(`/v1/invocations/${id}`);
          expect(res.status, `record of ${id}`).toBe(200);
          return ((await res.json()) as { invocation: View }).invocation;
        }),
      );
      open = views.filter((v) => !TERMINAL.includes(v.status)).length;
      return open === 0 ? views : undefined;
    },
    ms,
  );
}

const freeBytes = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

describe('filling the data disk with async calls', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('refuses with 503 QUEUE_FULL and Retry-After over the queue quota, before writing anything', async () => {
    const p = await startPlatform({
      config: { async: { maxQueuedBytes: 2 * MiB, maxQueuedBytesPerFunction: 2 * MiB, concurrency: 1 } },
    });
    cleanup.push(() => removeDir(p.dataDir));
    cleanup.push(() => p.stop());
    await p.deployAll({ slow: 'sleepy' });

    const { ids, refusal } = await fill(p, '/slow?ms=300', 100);
    expect(refusal.status).toBe(503);
    expect(refusal.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refusal.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_QUEUE_FULL');
    // about 2 MiB of 200 KiB bodies, and the refused one was not written
    expect(ids.length).toBeGreaterThanOrEqual(8);
    expect(ids.length).toBeLessThanOrEqual(11);
    const listed = await p.api('/v1/invocations?function=slow&limit=1000');
    const records = ((await listed.json()) as { invocations: View[] }).invocations;
    expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());

    const views = await allTerminal(p, ids);
    expect(views.every((v) => v.status === 'succeeded')).toBe(true);
    // the quota is given back as invocations finish
    expect((await queueAsync(p, '/slow?ms=0')).status).toBe(202);
  }, 120_000);

  it("keeps one function's share: over async.maxQueuedBytesPerFunction it gets 503, other functions are still accepted", async () => {
    const p = await startPlatform({
      // a quarter of the queue (1 MiB) for one function, by default
      config: { async: { maxQueuedBytes: 4 * MiB, concurrency: 1 } },
    });
    cleanup.push(() => removeDir(p.dataDir));
    cleanup.push(() => p.stop());
    await p.deployAll({ slow: 'sleepy', other: 'echo-cjs' });

    const { ids, refusal } = await fill(p, '/slow?ms=1000', 100);
    expect(refusal.status).toBe(503);
    expect(refusal.headers.get('retry-after')).toMatch(/^\d+$/);
    const error = ((await refusal.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('SKIFF_E_QUEUE_FULL');
    expect(error.message).toContain('maxQueuedBytesPerFunction');
    // about 1 MiB of 200 KiB bodies (a few may have finished meanwhile)
    expect(ids.length).toBeLessThanOrEqual(8);
    // the queue as a whole has room: another function is still accepted, several times
    const others: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await queueAsync(p, '/other');
      expect(res.status).toBe(202);
      others.push(((await res.json()) as { id: string }).id);
    }
    const views = await allTerminal(p, [...ids, ...others]);
    expect(views.every((v) => v.status === 'succeeded')).toBe(true);
    // the share is given back as the invocations finish
    expect((await queueAsync(p, '/slow?ms=0')).status).toBe(202);
  }, 120_000);

  const diskFull = async (reserveBytes: number): Promise<void> => {
    const mount = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mount]);
    cleanup.push(async () => {
      execFileSync('umount', ['-l', mount]);
      await rm(mount, { recursive: true, force: true });
    });
    const p = await startPlatform({
      dataDir: mount,
      // the quota is above the disk: the disk fills first
      config: {
        async: { maxQueuedBytes: 64 * MiB, concurrency: 1 },
        disk: { ballastBytes: MiB, reserveBytes },
      },
    });
    cleanup.push(() => p.stop());
    await p.deployAll({ slow: 'sleepy' });
    // a function with 2 MiB of code that cannot be compressed: deleting it frees that much
    const bulky = await makeDataDir();
    cleanup.push(() => removeDir(bulky));
    await cp(fixture('echo-cjs'), bulky, { recursive: true });
    await writeFile(path.join(bulky, 'blob.bin'), randomBytes(2 * MiB));
    expect((await p.deploy('bulky', bulky)).status).toBe(201);

    const { ids, refusal } = await fill(p, '/slow?ms=50', 200);
    expect(refusal.status).toBe(507);
    expect(((await refusal.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_DISK_FULL');
    expect(ids.length).toBeGreaterThan(10);
    if (reserveBytes > 0) {
      // a deploy is refused the same way, and leaves nothing behind
      const refused = await p.deploy('bulky2', bulky);
      expect(refused.status).toBe(507);
      expect((await p.api('/v1/functions/bulky2')).status).toBe(404);
    }

    // a delete works on the full disk and frees the function's files
    const before = freeBytes(mount);
    const del = await p.api('/v1/functions/bulky', { method: 'DELETE' });
    expect(del.status, await del.text()).toBe(204);
    expect(freeBytes(mount) - before).toBeGreaterThan(MiB);
    expect((await p.api('/v1/functions/bulky')).status).toBe(404);

    // everything that got a 202 was on disk and reaches a terminal state
    const views = await allTerminal(p, ids);
    expect(views.filter((v) => v.status !== 'succeeded')).toEqual([]);

    // and the platform takes work again
    const again = await p.deploy('again', fixture('echo-cjs'));
    expect(again.status, await again.text()).toBe(201);
    const accepted = await queueAsync(p, '/again');
    expect(accepted.status).toBe(202);
    const id = ((await accepted.json()) as { id: string }).id;
    expect((await allTerminal(p, [id]))[0]?.status).toBe('succeeded');
  };

  it('refuses with 507 DISK_FULL below the free-space reserve, loses nothing accepted, and a delete makes room', async () => {
    await diskFull(3 * MiB);
  }, 180_000);

  it('refuses with 507 DISK_FULL on a disk really full (no reserve), and a delete still works', async () => {
    await diskFull(0);
  }, 180_000);
});
