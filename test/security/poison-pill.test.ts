/**
 * Poison pill: an async invocation whose attempt takes the platform down (simulated: the platform is
 * SIGKILLed while the attempt is in flight) must not be run again at every start forever. Each
 * interrupted attempt counts; after retries + 1 of them the invocation is dead-lettered (`failed`,
 * SKIFF_E_INSTANCE_CRASHED) and never runs again. The function's own log lines are the witness of
 * how often it ran.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../../src/store/archive/pack.js';
import { makeDataDir, removeDir, type LogLine } from '../helpers/platform.js';
import { exited, spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { waitFor } from '../helpers/wait.js';

const RETRIES = 2;

interface View {
  id: string;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
  history: { outcome: string }[];
}

const HANDLER = `
export default async (request, ctx) => {
  console.log('poison attempt ' + ctx.invocationId);
  const ms = Number(new URL(request.url).searchParams.get('ms') ?? '600000');
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  return 'survived';
};
`;

describe('a poisoned async invocation', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('is dead-lettered after retries + 1 attempts the platform died during, and never runs again', async () => {
    const dataDir = await makeDataDir();
    const fnDir = await makeDataDir();
    cleanup.push(
      () => removeDir(dataDir),
      () => removeDir(fnDir),
    );
    await mkdir(fnDir, { recursive: true });
    await writeFile(path.join(fnDir, 'index.mjs'), HANDLER);
    await writeFile(path.join(fnDir, 'skiff.json'), JSON.stringify({ timeoutMs: 120_000 }));
    await writeFile(
      path.join(dataDir, 'skiff.config.json'),
      JSON.stringify({ async: { retries: RETRIES, retryBaseMs: 100 } }),
    );

    let platform: ServeProcess = await spawnServe(dataDir, { args: ['--log-level', 'warn'] });
    cleanup.push(async () => {
      platform.child.kill('SIGKILL');
      await exited(platform.child);
    });
    const api = (route: string, init: RequestInit = {}) =>
      fetch(`${platform.control}${route}`, {
        ...init,
        headers: { authorization: `Bearer ${platform.token}`, ...(init.headers as Record<string, string>) },
      });
    const record = async (id: string): Promise<View> =>
      ((await (await api(`/v1/invocations/${id}`)).json()) as { invocation: View }).invocation;
    const attemptsSeen = async (id: string): Promise<number> => {
      const res = await api('/v1/functions/poison/logs?limit=1000');
      const { logs } = (await res.json()) as { logs: LogLine[] };
      return logs.filter((l) => l.message.includes(`poison attempt ${id}`)).length;
    };

    const put = await api('/v1/functions/poison', {
      method: 'PUT',
      headers: { 'content-type': 'application/gzip' },
      body: await packDirectory(fnDir),
    });
    expect(put.status, await put.text()).toBe(201);

    const accepted = await fetch(`${platform.http}/poison`, {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'poison',
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };

    // each attempt takes the platform down while it is in flight
    for (let attempt = 1; attempt <= RETRIES + 1; attempt++) {
      await waitFor(`attempt ${attempt} to start`, async () =>
        (await attemptsSeen(id)) >= attempt ? true : undefined,
      );
      const running = await record(id);
      expect(running).toMatchObject({ status: 'running', attempts: attempt });
      platform.child.kill('SIGKILL');
      await exited(platform.child);
      platform = await spawnServe(dataDir, { args: ['--log-level', 'warn'] });
    }

    // at this start the invocation has no attempt left: dead-lettered, not run a fourth time
    const dead = await record(id);
    expect(dead.status).toBe('failed');
    expect(dead.attempts).toBe(RETRIES + 1);
    expect(dead.error?.code).toBe('SKIFF_E_INSTANCE_CRASHED');
    expect(dead.error?.message).toBe(`the platform stopped during the attempt ${RETRIES + 1} times`);
    expect(dead.history.map((h) => h.outcome)).toEqual(Array(RETRIES + 1).fill('SKIFF_E_INSTANCE_CRASHED'));
    const failed = await api('/v1/invocations?status=failed');
    const letters = ((await failed.json()) as { invocations: View[] }).invocations;
    expect(letters.map((l) => l.id)).toContain(id);

    // the queue goes on: a later invocation of the same function runs, the poisoned one does not
    const next = await fetch(`${platform.http}/poison?ms=0`, {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: 'fine',
    });
    expect(next.status).toBe(202);
    const nextId = ((await next.json()) as { id: string }).id;
    const done = await waitFor('the next invocation', async () => {
      const view = await record(nextId);
      return view.status === 'succeeded' ? view : undefined;
    });
    expect(done.attempts).toBe(1);
    expect(await attemptsSeen(id)).toBe(RETRIES + 1);

    // and a graceful restart does not bring it back either
    platform.child.kill('SIGTERM');
    await exited(platform.child);
    platform = await spawnServe(dataDir, { args: ['--log-level', 'warn'] });
    expect((await record(id)).status).toBe('failed');
    expect(await attemptsSeen(id)).toBe(RETRIES + 1);
  }, 180_000);
});
