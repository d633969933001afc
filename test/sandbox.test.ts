import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../src/store/archive/pack.js';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { exited, spawnServe } from './helpers/serve-process.js';

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

/** Whether a process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The given processes and all their descendants, from the host's process table. */
function descendants(roots: number[]): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const out = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (out.has(ppid) && !out.has(pid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return [...out];
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

describe('sandbox: real attempts from deployed functions', () => {
  let p: TestPlatform;
  let netDir: string;

  const probe = async (query: string, fn = 'probe') =>
    (await (await p.call(`/${fn}?${query}`)).json()) as Attempt & Record<string, unknown>;

  beforeAll(async () => {
    p = await startPlatform();
    netDir = await makeDataDir();
    await cp(fixture('probe'), netDir, { recursive: true });
    await writeFile(path.join(netDir, 'skiff.json'), JSON.stringify({ network: 'outbound' }));
    await p.deployAll({ probe: 'probe', neighbour: 'sleepy', forkbomb: 'forkbomb', fdlist: 'fdlist' });
    expect((await p.deploy('probe-net', netDir)).status).toBe(201);
    await writeFile(
      path.join(netDir, 'skiff.json'),
      JSON.stringify({ limits: { openFiles: 64, fileSizeMb: 2 } }),
    );
    expect((await p.deploy('probe-small', netDir)).status).toBe(201);
  });
  afterAll(async () => {
    await p.stop();
    await removeDir(netDir);
  });

  it('runs as uid 65534 with no capabilities and no new privileges', async () => {
    const s = (await probe('do=status')) as unknown as { uid: string; capEff: string; noNewPrivs: string };
    expect(s.uid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    expect(s.capEff).toBe('0000000000000000');
    expect(s.noNewPrivs).toBe('1');
  });

  it('cannot read /etc/shadow, the data directory, the admin token or another function’s code', async () => {
    const targets = [
      '/etc/shadow',
      '/etc/passwd',
      path.join(p.dataDir, 'admin-token'),
      path.join(p.dataDir, 'registry.db'),
      path.join(p.dataDir, 'endpoints.json'),
    ];
    const neighbour = readdirSync(path.join(p.dataDir, 'functions', 'neighbour'));
    targets.push(path.join(p.dataDir, 'functions', 'neighbour', neighbour[0] ?? '', 'index.mjs'));
    for (const target of targets) {
      const r = await probe(`do=read&path=${encodeURIComponent(target)}`);
      expect(r, target).toMatchObject({ ok: false });
      expect(JSON.stringify(r)).not.toContain(p.token);
    }
    // the token is never in the function's environment either
    expect(JSON.stringify(await probe('do=env'))).not.toContain(p.token);
  });

  it('cannot write outside /tmp: its code, /usr and / are read-only', async () => {
    const { cwd } = (await probe('do=status')) as unknown as { cwd: string };
    for (const target of [path.join(cwd, 'planted.js'), '/usr/planted', '/planted', '/etc/planted']) {
      expect(await probe(`do=write&path=${encodeURIComponent(target)}`), target).toMatchObject({
        ok: false,
      });
    }
    expect(await probe('do=write&path=/tmp/ok')).toMatchObject({ ok: true });
  });

  it('fills its own /tmp up to ENOSPC and nothing outside', async () => {
    const r = (await probe('do=fill')) as unknown as { written: number; code: string };
    expect(r.code).toBe('ENOSPC');
    expect(r.written).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(r.written).toBeGreaterThan(8 * 1024 * 1024);
  });

  it('sees only the environment it was given', async () => {
    const env = (await probe('do=env')) as unknown as Record<string, string>;
    // PWD is set by bubblewrap's --chdir
    expect(Object.keys(env).sort()).toEqual(
      ['HOME', 'LANG', 'NODE_ENV', 'PATH', 'PWD', 'SKIFF_MAX_RESPONSE_BYTES', 'SKIFF_PROTOCOL_FD'].sort(),
    );
    expect(env['HOME']).toBe('/tmp');
    expect(env['PATH']).toBe('/usr/local/bin:/usr/bin:/bin');
  });

  it('cannot reach the platform’s ports without network; with network "outbound" it can', async () => {
    for (const url of [p.controlUrl, p.httpUrl]) {
      const port = new URL(url).port;
      expect(await probe(`do=connect&port=${port}`), url).toMatchObject({ ok: false });
      expect(await probe(`do=connect&port=${port}`, 'probe-net'), url).toMatchObject({ ok: true });
    }
  });

  it('cannot unshare a user namespace or mount', async () => {
    const text = await (await p.call('/fdlist')).text();
    expect(text).toContain('unshare: denied');
    expect(text).toContain('mount: denied');
  });

  it('contains a fork bomb within its pids limit while a neighbour keeps answering', async () => {
    const bomb = p.call('/forkbomb');
    await new Promise((resolve) => setTimeout(resolve, 400));
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
      function: { instances: { pid: number }[] };
    };
    // the sandbox (bubblewrap) and everything below it, as the host sees them
    const tree = descendants(status.function.instances.map((i) => i.pid));
    expect(tree.length).toBeGreaterThanOrEqual(2);
    expect((await p.api('/v1/functions/doomed', { method: 'DELETE' })).status).toBe(204);
    let left = tree.filter(alive);
    for (let waited = 0; left.length > 0 && waited < 2000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = tree.filter(alive);
    }
    expect(left).toEqual([]);
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
    let left = processesUsing(dataDir);
    for (let waited = 0; left.length > 0 && waited < 2000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = processesUsing(dataDir);
    }
    expect(left).toEqual([]);
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

describe('sandbox: descriptors the platform inherited', () => {
  it('never reach a function: only 0-2 are open in a program it runs', async () => {
    const dataDir = await makeDataDir();
    // fds 3-5 of `skiff serve`: inherited without close-on-exec, like a careless parent's
    const serve = await spawnServe(dataDir, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'] });
    const { child, token } = serve;
    const endpoints = { control: serve.control, http: serve.http };
    try {
      const inherited = readdirSync(`/proc/${child.pid}/fd`).map(Number);
      expect(inherited).toEqual(expect.arrayContaining([3, 4, 5]));
      const put = await fetch(`${endpoints.control}/v1/functions/fdlist`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
        body: await packDirectory(fixture('fdlist')),
      });
      expect(put.status).toBe(201);
      const text = await (await fetch(`${endpoints.http}/fdlist`)).text();
      const fds = (/^fds:(.*)$/m.exec(text)?.[1] ?? '').trim().split(' ').map(Number);
      // 3 is the folder ls reads /proc/self/fd with
      expect(fds).toEqual([0, 1, 2, 3]);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
      await removeDir(dataDir);
    }
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
