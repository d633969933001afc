/**
 * Red team, `fn get`'s PID/RSS: the platform finds an instance's process by walking /proc below
 * bubblewrap, skipping the host side's programs by their argv[0]. A function can rename itself
 * (`process.title = 'bwrap'`), so that the walk goes on to a child of its own. That child may end;
 * its pid is then free for any process of the host. The pid found must not be kept once it is no
 * longer the instance's: else `fn get` reports (and reads /proc of) whatever process gets the pid next.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

const RENAMED = `import { spawn } from 'node:child_process';
process.title = 'bwrap';
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
export default async (request) => {
  if (new URL(request.url).searchParams.get('kill') === '1') child.kill('SIGKILL');
  return 'ok';
};`;

interface InstanceView {
  pid: number | null;
  sandboxPid: number | null;
  rssBytes: number | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('fn get: the pid of an instance is never a pid the instance no longer holds', () => {
  let p: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    p = await startPlatform();
    dir = await folderWith({
      'index.mjs': RENAMED,
      'skiff.json': JSON.stringify({ runtime: 'node', handler: 'index.mjs' }),
    });
    expect((await p.deploy('renamed', dir)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const instances = async (): Promise<InstanceView[]> => {
    const res = await p.api('/v1/functions/renamed');
    const body = (await res.json()) as { function?: { instances?: InstanceView[] } };
    return body.function?.instances ?? [];
  };

  it('a pid found once is not reported after that process ended', async () => {
    expect((await p.call('/renamed')).status).toBe(200);
    const first = await waitFor('the instance pid', async () => {
      const [i] = await instances();
      return i?.pid ?? undefined;
    });
    expect((await p.call('/renamed?kill=1')).status).toBe(200);
    await waitFor('the first pid gone', () => (alive(first) ? undefined : true));
    const [now] = await instances();
    expect(now).toBeDefined();
    // the instance's process still runs: whatever pid is shown is a process alive now, not the ended one
    expect(now?.pid).not.toBe(first);
    if (now?.pid !== null && now?.pid !== undefined) expect(alive(now.pid)).toBe(true);
  }, 60_000);
});
