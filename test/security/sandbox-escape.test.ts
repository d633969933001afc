/**
 * Escapes tried from inside real sandboxes: a deployed function reads host files, the data directory
 * and another function's code, writes outside /tmp, looks at its environment and descriptors, reaches
 * the platform's ports, makes a user namespace or a mount. See also host-files.test.ts (the host's view
 * of the data directory and the sandbox's user) and seccomp.test.ts (system calls).
 */
import { readdirSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../../src/store/archive/pack.js';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { exited, spawnServe } from '../helpers/serve-process.js';

interface Attempt {
  ok: boolean;
  code?: string;
  value?: string;
}

describe('security: escapes from a deployed function', () => {
  let p: TestPlatform;
  let netDir: string;

  const probe = async (query: string, fn = 'probe') =>
    (await (await p.call(`/${fn}?${query}`)).json()) as Attempt & Record<string, unknown>;

  beforeAll(async () => {
    p = await startPlatform();
    netDir = await makeDataDir();
    await cp(fixture('probe'), netDir, { recursive: true });
    await writeFile(path.join(netDir, 'skiff.json'), JSON.stringify({ network: 'outbound' }));
    await p.deployAll({ probe: 'probe', neighbour: 'sleepy', fdlist: 'fdlist' });
    expect((await p.deploy('probe-net', netDir)).status).toBe(201);
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

  it('sees only the environment it was given', async () => {
    const env = (await probe('do=env')) as unknown as Record<string, string>;
    // PWD is set by bubblewrap's --chdir
    expect(Object.keys(env).sort()).toEqual(
      ['HOME', 'LANG', 'NODE_ENV', 'PATH', 'PWD', 'SKIFF_MAX_RESPONSE_BYTES', 'SKIFF_PROTOCOL_FD'].sort(),
    );
    expect(env['HOME']).toBe('/tmp');
    expect(env['PATH']).toBe('/usr/local/bin:/usr/bin:/bin');
  });

  it('cannot reach the platform’s ports, with or without network "outbound" (network.test.ts)', async () => {
    for (const url of [p.controlUrl, p.httpUrl]) {
      const port = new URL(url).port;
      expect(await probe(`do=connect&port=${port}`), url).toMatchObject({ ok: false });
      expect(await probe(`do=connect&port=${port}`, 'probe-net'), url).toMatchObject({ ok: false });
    }
  });

  it('cannot unshare a user namespace or mount', async () => {
    const text = await (await p.call('/fdlist')).text();
    expect(text).toContain('unshare: denied');
    expect(text).toContain('mount: denied');
  });
});

describe('security: descriptors the platform inherited', () => {
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
