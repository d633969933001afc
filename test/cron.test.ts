import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { quietFor, waitUntil } from './helpers/wait.js';

interface Run {
  id: string;
  trigger: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
  result: { body: string } | null;
}

async function runs(p: TestPlatform, fn: string): Promise<Run[]> {
  const res = await p.api(`/v1/invocations?function=${fn}&limit=1000`);
  const { invocations } = (await res.json()) as { invocations: Run[] };
  return invocations.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

describe('cron trigger', () => {
  let p: TestPlatform;
  let work: string;

  beforeAll(async () => {
    p = await startPlatform();
    work = await makeDataDir();
  });
  afterAll(async () => {
    await p.stop();
    await removeDir(work);
  });

  it('runs a 6-field schedule every second and records each run with its outcome', async () => {
    await p.deployAll({ ticks: 'cron-tick' });
    await quietFor(2600, 'the schedule ticks every second: how many runs it made in this time');
    const done = (await runs(p, 'ticks')).filter((r) => r.status === 'succeeded');
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThanOrEqual(4);
    expect(done[0]?.trigger).toBe('cron');
    // a list leaves result bodies out: the run itself has it
    const one = await p.api(`/v1/invocations/${done[0]?.id ?? ''}`);
    const first = ((await one.json()) as { invocation: { result: { body: string } | null } }).invocation;
    expect(JSON.parse(Buffer.from(first.result?.body ?? '', 'base64').toString())).toEqual({
      trigger: 'cron',
      cron: '* * * * * *',
      body: 'tick',
    });
    // a deleted function's schedule stops with it
    expect((await p.api('/v1/functions/ticks', { method: 'DELETE' })).status).toBe(204);
  });

  it('does not start a run while the last one is going, unless overlap is allowed', async () => {
    await p.deployAll({ slow: 'cron-slow' });
    await cp(fixture('cron-slow'), work, { recursive: true });
    await writeFile(
      path.join(work, 'skiff.json'),
      JSON.stringify({ triggers: { cron: [{ schedule: '* * * * * *', overlap: true }] } }),
    );
    expect((await p.deploy('overlapping', work)).status).toBe(201);
    await quietFor(4300, 'the 1.5 s runs on a 1 s schedule: how many ticks start a run in this time');
    const serial = await runs(p, 'slow');
    const parallel = await runs(p, 'overlapping');
    await p.api('/v1/functions/slow', { method: 'DELETE' });
    await p.api('/v1/functions/overlapping', { method: 'DELETE' });
    // 1.5 s runs on a 1 s schedule: every other tick is skipped
    expect(serial.length).toBeGreaterThanOrEqual(2);
    expect(serial.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < serial.length; i++) {
      const previous = serial[i - 1];
      expect(previous?.finishedAt).not.toBeNull();
      expect(Date.parse(serial[i]?.createdAt ?? '')).toBeGreaterThanOrEqual(
        Date.parse(previous?.finishedAt ?? ''),
      );
    }
    // with overlap every tick starts a run
    expect(parallel.length).toBeGreaterThan(serial.length);
  });

  it('refuses an invalid schedule or time zone at deploy, naming it', async () => {
    await cp(fixture('cron-tick'), work, { recursive: true });
    for (const rule of [{ schedule: '61 * * * *' }, { schedule: '0 9 * * *', timezone: 'Mars/Olympus' }]) {
      await writeFile(path.join(work, 'skiff.json'), JSON.stringify({ triggers: { cron: [rule] } }));
      const res = await p.deploy('bad-cron', work);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('SKIFF_E_INVALID_SPEC');
      expect(body.error.message).toContain('triggers.cron[0]');
    }
    // a 5-field schedule with a time zone is fine
    await writeFile(
      path.join(work, 'skiff.json'),
      JSON.stringify({ triggers: { cron: [{ schedule: '30 9 * * 1-5', timezone: 'Europe/Berlin' }] } }),
    );
    expect((await p.deploy('weekdays', work)).status).toBe(201);
  });
});

describe('cron across a restart', () => {
  it('does not catch up on missed runs after a restart (no burst)', async () => {
    const first = await startPlatform();
    await first.deployAll({ ticks: 'cron-tick' });
    await waitUntil('a first run', async () => (await runs(first, 'ticks')).length > 0, 5_000);
    await first.stop();
    // three ticks pass while the platform is down
    await quietFor(3000, 'three ticks pass while the platform is down');
    const restartedAt = Date.now();
    const second = await startPlatform({ dataDir: first.dataDir });
    try {
      await quietFor(1500, 'the restarted schedule must not run the missed ticks at once');
      const after = (await runs(second, 'ticks')).filter((r) => Date.parse(r.createdAt) >= restartedAt);
      expect(after.length).toBeGreaterThanOrEqual(1);
      expect(after.length).toBeLessThanOrEqual(2);
    } finally {
      await second.stop();
      await removeDir(first.dataDir);
    }
  });
});
