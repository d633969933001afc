import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { alive, descendants } from './helpers/procs.js';
import { hasCallInFlight } from './helpers/function-status.js';
import { quietFor, waitUntil } from './helpers/wait.js';

interface Attempt {
  ok: boolean;
  code?: string;
  value?: string;
}

/** Host pids of processes whose working folder or command line is inside `dir`. */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cwd.startsWith(dir) || cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return pids;
}

/** The pids cgroup of an instance of this (in-process) platform: v1 or v2. */
function pidsCurrent(instanceId: string): number {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('pids'));
  const dir =
    v1 !== undefined
      ? path.join('/sys/fs/cgroup/pids', v1.split(':')[2] ?? '/', `skiff-${process.pid}`, instanceId)
      : path.join('/sys/fs/cgroup', lines[0]?.split(':')[2] ?? '/', `skiff-${process.pid}`, instanceId);
  return Number(readFileSync(path.join(dir, 'pids.current'), 'utf8').trim());
}

describe('sandbox: limits held against deployed functions', () => {
  let p: TestPlatform;
  let smallDir: string;

  const probe = async (query: string, fn = 'probe') =>
    (await (await p.call(`/${fn}?${query}`)).json()) as Attempt & Record<string, unknown>;

  beforeAll(async () => {
    p = await startPlatform();
    smallDir = await makeDataDir();
    await cp(fixture('probe'), smallDir, { recursive: true });
    await p.deployAll({ probe: 'probe', neighbour: 'sleepy', forkbomb: 'forkbomb' });
    await writeFile(
      path.join(smallDir, 'skiff.json'),
      JSON.stringify({ limits: { openFiles: 64, fileSizeMb: 2 } }),
    );
    expect((await p.deploy('probe-small', smallDir)).status).toBe(201);
  });
  afterAll(async () => {
    await p.stop();
    await removeDir(smallDir);
  });

  it('fills its own /tmp up to ENOSPC and nothing outside', async () => {
    const r = (await probe('do=fill')) as unknown as { written: number; code: string };
    expect(r.code).toBe('ENOSPC');
    expect(r.written).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(r.written).toBeGreaterThan(8 * 1024 * 1024);
  });

  it('contains a fork bomb within its pids limit while a neighbour keeps answering', async () => {
    const bomb = p.call('/forkbomb');
    await waitUntil('the fork bomb to run', () => hasCallInFlight(p, 'forkbomb'), 5_000);
    await quietFor(300, 'the bomb forks for a while: its processes must stay within the pids limit');
    const status = (await (await p.api('/v1/functions/forkbomb')).json()) as {
      function: { instances: { id: string }[] };
    };
    const id = status.function.instances[0]?.id ?? '';
    expect(pidsCurrent(id)).toBeLessThanOrEqual(64);
    const started = Date.now();
    const neighbour = await p.call('/neighbour');
    expect(neighbour.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await p.call('/probe')).status).toBe(200);
    const res = await bomb;
    expect([502, 504]).toContain(res.status);
    // the platform still deploys and serves
    expect((await p.call('/neighbour')).status).toBe(200);
  });

  it('holds the open files and file size limits of skiff.json', async () => {
    const files = (await probe('do=files', 'probe-small')) as unknown as { opened: number; code: string };
    expect(files.code).toBe('EMFILE');
    expect(files.opened).toBeLessThan(64);
    expect(await probe('do=bigfile&mb=1', 'probe-small')).toMatchObject({ ok: true });
    expect(await probe('do=bigfile&mb=3', 'probe-small')).toMatchObject({ ok: false, code: 'EFBIG' });
    // the default limits are far above
    const many = (await probe('do=files')) as unknown as { opened: number };
    expect(many.opened).toBeGreaterThan(900);
  });

  it('answers 502 SKIFF_E_OUT_OF_MEMORY past the memory limit, and the next call works', async () => {
    const res = await p.call('/probe?do=alloc&mb=400');
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({
      error: { code: 'SKIFF_E_OUT_OF_MEMORY', message: expect.stringContaining('128 MiB') as unknown },
    });
    const next = await p.call('/probe?do=alloc&mb=8');
    expect(next.status).toBe(200);
    const status = (await (await p.api('/v1/functions/probe')).json()) as {
      function: { status: { recentErrors: { code: string }[] } };
    };
    expect(status.function.status.recentErrors.map((e) => e.code)).toContain('SKIFF_E_OUT_OF_MEMORY');
  });

  it('leaves no sandbox process behind a deleted function', async () => {
    await p.deployAll({ doomed: 'sleepy' });
    expect((await p.call('/doomed')).status).toBe(200);
    const status = (await (await p.api('/v1/functions/doomed')).json()) as {
      function: { instances: { sandboxPid: number }[] };
    };
    // the sandbox (bubblewrap) and everything below it, as the host sees them
    const tree = descendants(status.function.instances.map((i) => i.sandboxPid));
    expect(tree.length).toBeGreaterThanOrEqual(2);
    expect((await p.api('/v1/functions/doomed', { method: 'DELETE' })).status).toBe(204);
    await waitUntil('the sandbox and its processes to be gone', () => !tree.some(alive), 2_000).catch(
      () => undefined, // the expectation says which are left
    );
    expect(tree.filter(alive)).toEqual([]);
  });
});

describe('sandbox: stopping the platform', () => {
  it('leaves no sandbox process, cgroup or code mount behind', async () => {
    const dataDir = await makeDataDir();
    const p = await startPlatform({ dataDir });
    try {
      await p.deployAll({ one: 'sleepy', two: 'probe' });
      expect((await p.call('/one')).status).toBe(200);
      expect((await p.call('/two')).status).toBe(200);
    } finally {
      await p.stop();
    }
    const slots = `skiff-slots-${process.pid}-`;
    await waitUntil(
      'the processes of the data dir to be gone',
      () => processesUsing(dataDir).length === 0,
      2_000,
    ).catch(
      () => undefined, // the expectation says which are left
    );
    expect(processesUsing(dataDir)).toEqual([]);
    expect(processesUsing(slots)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dataDir);
    // every instance's cgroup is gone (the platform's own folder may stay while another platform of
    // this test process uses it)
    const own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
    const memory = own.find((l) => l.split(':')[1]?.split(',').includes('memory'));
    const base =
      memory !== undefined
        ? path.join('/sys/fs/cgroup/memory', memory.split(':')[2] ?? '/', `skiff-${process.pid}`)
        : path.join('/sys/fs/cgroup', own[0]?.split(':')[2] ?? '/', `skiff-${process.pid}`);
    const children = existsSync(base)
      ? readdirSync(base, { withFileTypes: true }).filter((e) => e.isDirectory())
      : [];
    expect(children.map((e) => e.name)).toEqual([]);
    await removeDir(dataDir);
  });
});

describe('sandbox modes', () => {
  it('refuses to start without a working bubblewrap, unless told to run plain processes', async () => {
    const broken = { sandbox: { bwrap: '/nonexistent/bwrap' } };
    await expect(startPlatform({ config: broken })).rejects.toMatchObject({
      code: 'SKIFF_E_SANDBOX_UNAVAILABLE',
      message: expect.stringContaining('--insecure-no-sandbox') as unknown,
    });
    await expect(
      startPlatform({
        config: { sandbox: { mode: 'bubblewrap', bwrap: '/nonexistent/bwrap', insecureNoSandbox: true } },
      }),
    ).rejects.toMatchObject({ code: 'SKIFF_E_SANDBOX_UNAVAILABLE' });
    const p = await startPlatform({ config: { sandbox: { ...broken.sandbox, insecureNoSandbox: true } } });
    try {
      expect(p.server.isolation).toContain('NONE');
      await p.deployAll({ plain: 'probe' });
      // a plain process: it runs as the platform's user, in the host's namespaces
      const s = (await (await p.call('/plain?do=status')).json()) as { uid: string };
      expect(s.uid.split(/\s+/)[0]).toBe(String(process.getuid?.()));
    } finally {
      await p.stop();
    }
  });

  it('says which isolation and limits are in force', async () => {
    const p = await startPlatform();
    try {
      expect(p.server.isolation).toMatch(
        /^sandbox: bubblewrap .*; cgroup v[12]: memory 256 MiB, cpu 1, pids 128;/,
      );
    } finally {
      await p.stop();
    }
  });
});
