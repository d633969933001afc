/**
 * Attacks through builds (issue 12): a build is user code (esbuild imports, pip build backends, npm
 * install scripts) and must run in the sandbox: no view of the data dir or the host, no uid 0, no
 * loopback to the platform, killed at build.timeoutMs; the network only through the build proxy.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../../helpers/platform.js';
import { folderWith } from '../../helpers/tmp.js';
import { linkingBackend, backend, PROBE_JS, pyproject } from './probes.js';
import { deployWatching, eventually, hostFile, ownership, probeOf, type Failure } from './setup.js';

describe('builds run in the sandbox', () => {
  let p: TestPlatform;
  let controlPort: string;
  let tokenFile: string;
  const dirs: string[] = [];
  /** Host files and folders the tests made as link targets. */
  const hostPaths: string[] = [];

  const make = async (files: Record<string, string>): Promise<string> => {
    const dir = await folderWith(files);
    dirs.push(dir);
    return dir;
  };

  /** Deploys and expects a failed build; checks that the token shows in no answer. Returns the log. */
  const failedBuild = async (name: string, dir: string, given?: Response): Promise<string> => {
    const res = given ?? (await p.deploy(name, dir));
    const text = await res.text();
    expect(res.status, text).toBe(422);
    expect(text).not.toContain(p.token);
    const body = JSON.parse(text) as Failure;
    expect(body.error.code).toBe('SKIFF_E_BUILD_FAILED');
    for (const route of [`/v1/functions/${name}`, `/v1/functions/${name}/logs?limit=1000`]) {
      expect(await (await p.api(route)).text()).not.toContain(p.token);
    }
    return body.error.details?.buildLog ?? '';
  };

  beforeAll(async () => {
    p = await startPlatform({ config: { build: { npmScripts: true, pipArgs: ['--no-index'] } } });
    controlPort = new URL(p.controlUrl).port;
    tokenFile = path.join(p.dataDir, 'admin-token');
  });

  afterAll(async () => {
    await p?.stop();
    for (const dir of dirs) await removeDir(dir);
    for (const file of hostPaths) await rm(file, { recursive: true, force: true });
    // its data dir held the targets of the links (admin-token, registry.db-wal)
    const started = p as TestPlatform | undefined;
    if (started !== undefined) await removeDir(started.dataDir);
  });

  it('esbuild cannot bundle files of the data dir or the host (import with type text)', async () => {
    const targets = {
      token: tokenFile,
      registry: path.join(p.dataDir, 'registry.db'),
      shadow: '/etc/shadow',
      relative: '../../admin-token',
    };
    for (const [what, target] of Object.entries(targets)) {
      const dir = await make({
        'index.ts': `import secret from ${JSON.stringify(target)} with { type: 'text' };\nexport default () => secret;\n`,
      });
      const log = await failedBuild(`steal-${what}`, dir);
      expect(log).toMatch(/Could not resolve|outside the function folder/);
      expect((await p.call(`/steal-${what}`)).status).toBe(404);
    }
  });

  it('esbuild does not follow a link that an install script made to the data dir', async () => {
    const dir = await make({
      'index.ts': "import secret from './secret.txt';\nexport default () => secret;\n",
      'dep/package.json': JSON.stringify({ name: 'dep', version: '1.0.0' }),
      'package.json': JSON.stringify({
        name: 'linker',
        version: '1.0.0',
        dependencies: { dep: 'file:./dep' },
        scripts: { postinstall: `ln -s ${tokenFile} secret.txt` },
      }),
    });
    const log = await failedBuild('steal-link', dir);
    expect(log).toMatch(/Could not resolve|outside the function folder|No such file|ENOENT/);
  });

  it('a pip requirement outside the function folder is not built on the host', async () => {
    const marker = path.join(os.tmpdir(), `marker-${randomBytes(6).toString('hex')}`);
    const evil = await make({ 'pyproject.toml': pyproject, 'evilbackend.py': backend(tokenFile, marker) });
    await chmod(evil, 0o755);
    const dir = await make({
      'skiff.json': '{"runtime": "python"}',
      'main.py': 'def handle(request, ctx):\n    return "hi"\n',
      'requirements.txt': `${evil}\n`,
    });
    await failedBuild('py-outside', dir);
    expect(existsSync(marker)).toBe(false);
  });

  it('a pip build backend inside the function runs unprivileged, without the data dir', async () => {
    const marker = path.join(os.tmpdir(), `marker-${randomBytes(6).toString('hex')}`);
    const dir = await make({
      'skiff.json': '{"runtime": "python"}',
      'main.py': 'def handle(request, ctx):\n    return "hi"\n',
      'requirements.txt': './evil\n',
      'evil/pyproject.toml': pyproject,
      'evil/evilbackend.py': backend(tokenFile, marker),
    });
    const { res, uids } = await deployWatching(p, () => p.deploy('py-inside', dir), '/build/.skiff/python');
    const probe = probeOf(await failedBuild('py-inside', dir, res));
    // pip and the backend it runs are an unprivileged user on the host
    expect(uids.length).toBeGreaterThan(0);
    expect(uids.every((uid) => uid !== '0')).toBe(true);
    expect(probe['token']).toMatch(/^denied:/);
    expect(probe['datadir']).toMatch(/^denied:/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${tokenFile}.pwned`)).toBe(false);
  });

  it('a link a build step planted is not followed when the next step starts or at the reclaim', async () => {
    const outside = hostFile();
    hostPaths.push(outside);
    const wal = path.join(p.dataDir, 'registry.db-wal');
    const targets = [tokenFile, outside, ...(existsSync(wal) ? [wal] : [])];
    const before = ownership(targets);
    const dir = await make({
      'skiff.json': '{"runtime": "python"}',
      'main.py': 'def handle(request, ctx):\n    return "hi"\n',
      'requirements.txt': './pkg\n',
      'pkg/pyproject.toml': pyproject,
      'pkg/evilbackend.py': linkingBackend(
        { 'lnk-token': '../../admin-token', 'lnk-wal': '../../registry.db-wal', 'lnk-x': outside },
        true,
      ),
    });
    const res = await p.deploy('py-links', dir);
    const text = await res.text();
    // whether the build worked or not, nothing outside the work folder changed owner or mode
    expect(ownership(targets)).toEqual(before);
    expect(text).not.toContain(p.token);
    // the build worked: the traceback.py it dropped into /build was not imported by the compile check
    expect(res.status, text).toBe(201);
    const code = path.join(p.dataDir, 'functions', 'py-links');
    const version = readdirSync(code)[0] ?? '';
    expect(existsSync(path.join(code, version, 'traceback.py'))).toBe(true);
    expect(lstatSync(path.join(code, version, 'lnk-x')).isSymbolicLink()).toBe(true);
  });

  it('a link to a host file kept in the code is re-owned itself, never its target, up to the live code', async () => {
    const foreign = hostFile(4242);
    const folderTarget = await mkdtemp(path.join(os.tmpdir(), 'skiff-target-dir-'));
    chownSync(folderTarget, 4242, 4242);
    hostPaths.push(foreign, folderTarget);
    const before = ownership([foreign, folderTarget]);
    const dir = await make({
      'skiff.json': '{"runtime": "python"}',
      'main.py': 'def handle(request, ctx):\n    return "hi"\n',
      'requirements.txt': './pkg\n',
      'pkg/pyproject.toml': pyproject,
      'pkg/evilbackend.py': linkingBackend({ 'keep-file': foreign, 'keep-dir': folderTarget }, false),
    });
    const res = await p.deploy('py-keep-links', dir);
    expect(res.status, await res.text()).toBe(201);
    expect(await (await p.call('/py-keep-links')).text()).toContain('hi');
    expect(ownership([foreign, folderTarget])).toEqual(before);
    const code = path.join(p.dataDir, 'functions', 'py-keep-links');
    const version = readdirSync(code)[0] ?? '';
    for (const name of ['keep-file', 'keep-dir']) {
      const link = lstatSync(path.join(code, version, name));
      expect(link.isSymbolicLink(), name).toBe(true);
      expect(link.uid, name).toBe(0);
    }
  });

  it('a dangling link whose target the host makes during the build is not followed either', async () => {
    const later = path.join(os.tmpdir(), `skiff-target-later-${randomBytes(6).toString('hex')}`);
    hostPaths.push(later);
    const dir = await make({
      'skiff.json': '{"runtime": "python"}',
      'main.py': 'def handle(request, ctx):\n    return "hi"\n',
      'requirements.txt': './pkg\n',
      'pkg/pyproject.toml': pyproject,
      'pkg/evilbackend.py': linkingBackend({ 'lnk-later': later }, false, true),
    });
    const staging = path.join(p.dataDir, 'staging');
    const pending = p.deploy('py-later-link', dir);
    let ready: string | undefined;
    const found = await eventually(() => {
      ready = readdirSync(staging)
        .map((id) => path.join(staging, id))
        .find((d) => existsSync(path.join(d, '.probe-ready')));
      return ready !== undefined;
    }, 20_000);
    expect(found).toBe(true);
    // the link was dangling when the build made it; now its target exists on the host
    expect(lstatSync(path.join(ready ?? '', 'lnk-later')).isSymbolicLink()).toBe(true);
    writeFileSync(later, 'made by the host after the link');
    chownSync(later, 4242, 4242);
    chmodSync(later, 0o4755);
    const before = ownership([later]);
    await writeFile(path.join(ready ?? '', '.probe-go'), '');
    const res = await pending;
    expect(res.status, await res.text()).toBe(201);
    expect(ownership([later])).toEqual(before);
  });

  it('an npm install script cannot read the token, reach the control port, or tunnel to loopback', async () => {
    const dir = await make({
      'index.js': 'export default () => "hi";\n',
      'probe.js': PROBE_JS,
      'dep/package.json': JSON.stringify({ name: 'dep', version: '1.0.0' }),
      'package.json': JSON.stringify({
        name: 'probe',
        version: '1.0.0',
        dependencies: { dep: 'file:./dep' },
        scripts: { postinstall: `node probe.js ${tokenFile} ${controlPort}` },
      }),
    });
    const { res, uids } = await deployWatching(p, () => p.deploy('npm-probe', dir), `probe.js ${tokenFile}`);
    const probe = probeOf(await failedBuild('npm-probe', dir, res));
    expect(uids.length).toBeGreaterThan(0);
    expect(uids.every((uid) => uid !== '0')).toBe(true);
    expect(probe['token']).toMatch(/^denied:/);
    expect(probe['write']).toMatch(/^denied:/);
    expect(probe['direct']).toMatch(/^refused:/);
    expect(probe['proxyControl']).toBe('403');
    expect(probe['proxyLocalhost']).toBe('403');
    // the registry is reachable through the proxy (the machine reaches registry.npmjs.org)
    expect(probe['proxyRegistry']).toBe('200');
    expect(existsSync(`${tokenFile}.pwned`)).toBe(false);
  });

  it('npm installs a dependency from the registry through the build proxy', async () => {
    const dir = await make({
      'index.mjs': "import ms from 'ms';\nexport default () => String(ms('2 days'));\n",
      'package.json': JSON.stringify({ name: 'uses-ms', version: '1.0.0', dependencies: { ms: '2.1.3' } }),
    });
    const res = await p.deploy('uses-ms', dir);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await (await p.call('/uses-ms')).text()).toBe('172800000');
  });

  it('leaves no build mount or staging folder behind, and gives the code back to root', async () => {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts.split('\n').filter((line) => line.includes(path.join(p.dataDir, 'staging')))).toEqual([]);
    expect(readdirSync(path.join(p.dataDir, 'staging'))).toEqual([]);
    const fn = path.join(p.dataDir, 'functions', 'uses-ms');
    const version = readdirSync(fn)[0] ?? '';
    for (const rel of ['', 'node_modules', 'node_modules/ms/package.json']) {
      expect(statSync(path.join(fn, version, rel)).uid, rel).toBe(process.getuid?.());
    }
  });
});
