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
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

interface Failure {
  error: { code: string; message: string; details?: { buildLog?: string } };
}

/** Host processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Whether `check` holds within `withinMs` (5 s): waitUntil, as a boolean for an expectation. */
async function eventually(check: () => boolean, withinMs = 5_000): Promise<boolean> {
  return waitUntil('the check', check, withinMs).then(
    () => true,
    () => check(),
  );
}

/**
 * Runs a deploy whose probe waits at a handshake in its work folder: while it waits, the host uids of
 * the processes whose command line holds `marker` are read; then the probe goes on.
 */
async function deployWatching(
  p: TestPlatform,
  deploy: () => Promise<Response>,
  marker: string,
): Promise<{ res: Response; uids: string[] }> {
  const staging = path.join(p.dataDir, 'staging');
  const pending = deploy();
  let ready: string | undefined;
  const found = await eventually(() => {
    ready = readdirSync(staging)
      .map((id) => path.join(staging, id))
      .find((dir) => existsSync(path.join(dir, '.probe-ready')));
    return ready !== undefined;
  }, 20_000);
  const uids: string[] = [];
  if (found && ready !== undefined) {
    for (const pid of processesWith(marker)) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      uids.push(...(/^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/) ?? []));
    }
    await writeFile(path.join(ready, '.probe-go'), '');
  }
  return { res: await pending, uids };
}

/** A postinstall probe: reads a file, connects directly and through the proxy, prints, exits 1. */
const PROBE_JS = `
const fs = require('node:fs');
const net = require('node:net');
const [tokenFile, port] = process.argv.slice(2);
const out = {};
try { out.token = fs.readFileSync(tokenFile, 'utf8'); } catch (e) { out.token = 'denied:' + e.code; }
try { fs.writeFileSync(tokenFile + '.pwned', 'x'); out.write = 'written'; } catch (e) { out.write = 'denied:' + e.code; }
const direct = () => new Promise((done) => {
  const s = net.connect(Number(port), '127.0.0.1');
  s.on('connect', () => { s.destroy(); done('connected'); });
  s.on('error', (e) => done('refused:' + e.code));
});
const viaProxy = (target) => new Promise((done) => {
  const proxy = process.env.HTTPS_PROXY;
  if (!proxy) return done('no-proxy');
  const u = new URL(proxy);
  const s = net.connect(Number(u.port), u.hostname);
  s.on('connect', () => s.write('CONNECT ' + target + ' HTTP/1.1\\r\\nhost: ' + target + '\\r\\n\\r\\n'));
  s.once('data', (d) => { s.destroy(); done(String(d).split('\\r\\n')[0].split(' ')[1]); });
  s.on('error', (e) => done('error:' + e.code));
  setTimeout(() => { s.destroy(); done('timeout'); }, 10000);
});
(async () => {
  // the test looks at this process from the host, then lets it go on
  fs.writeFileSync('/build/.probe-ready', '');
  for (let i = 0; i < 200 && !fs.existsSync('/build/.probe-go'); i++) await new Promise((r) => setTimeout(r, 50));
  out.direct = await direct();
  out.proxyControl = await viaProxy('127.0.0.1:' + port);
  out.proxyLocalhost = await viaProxy('localhost:' + port);
  out.proxyRegistry = await viaProxy('registry.npmjs.org:443');
  console.log('SKIFF-PROBE ' + JSON.stringify(out));
  process.exit(1);
})();
`;

/** An in-tree PEP 517 backend whose hooks try to read the admin token and write outside. */
const backend = (tokenFile: string, marker: string) => `
import json, os, time
def _probe():
    out = {}
    try:
        out['token'] = open(${JSON.stringify(tokenFile)}).read()
    except Exception as e:
        out['token'] = 'denied:' + type(e).__name__
    for name, target in (('marker', ${JSON.stringify(marker)}), ('datadir', ${JSON.stringify(tokenFile)} + '.pwned')):
        try:
            open(target, 'w').write('pwned')
            out[name] = 'written'
        except Exception as e:
            out[name] = 'denied:' + type(e).__name__
    # the test looks at this process from the host, then lets it go on
    open('/build/.probe-ready', 'w').close()
    for _ in range(200):
        if os.path.exists('/build/.probe-go'):
            break
        time.sleep(0.05)
    raise RuntimeError('SKIFF-PROBE ' + json.dumps(out))
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _probe()
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _probe()
`;

const pyproject = `[build-system]
requires = []
build-backend = "evilbackend"
backend-path = ["."]

[project]
name = "evil"
version = "1.0"
`;

/**
 * An in-tree backend that plants links in the work folder (name → target), builds a valid wheel, and
 * with `cover` drops a traceback.py into /build that removes the links when a later step imports it
 * (the compile check once ran `python3 -c` in /build, where the current folder is on sys.path); with
 * `handshake` it waits in build_wheel (.probe-ready, .probe-go) so the host can act meanwhile.
 */
const linkingBackend = (links: Record<string, string>, cover: boolean, handshake = false) => `
import os, time, zipfile
LINKS = ${JSON.stringify(links)}
COVER = ${cover ? 'True' : 'False'}
HANDSHAKE = ${handshake ? 'True' : 'False'}
def _plant():
    for name, target in LINKS.items():
        try:
            os.symlink(target, '/build/' + name)
        except FileExistsError:
            pass
def get_requires_for_build_wheel(config_settings=None):
    _plant()
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _plant()
    if HANDSHAKE:
        # the host makes the links' targets now, then lets the build go on
        open('/build/.probe-ready', 'w').close()
        for _ in range(200):
            if os.path.exists('/build/.probe-go'):
                break
            time.sleep(0.05)
    name = 'evil-1.0-py3-none-any.whl'
    with zipfile.ZipFile(os.path.join(wheel_directory, name), 'w') as z:
        z.writestr('evil/__init__.py', '')
        z.writestr('evil-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: evil\\nVersion: 1.0\\n')
        z.writestr('evil-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: evil\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
        z.writestr('evil-1.0.dist-info/RECORD', 'evil/__init__.py,,\\nevil-1.0.dist-info/METADATA,,\\nevil-1.0.dist-info/WHEEL,,\\nevil-1.0.dist-info/RECORD,,\\n')
    if COVER:
        with open('/build/traceback.py', 'w') as f:
            f.write('import os\\nfor n in %r:\\n    try:\\n        os.unlink("/build/" + n)\\n    except OSError:\\n        pass\\n' % (list(LINKS),))
    return name
`;
import { folderWith } from '../helpers/tmp.js';

/** A root-owned (or `uid`-owned) setuid host file; returns its path. */
function hostFile(uid = 0): string {
  const file = path.join(os.tmpdir(), `skiff-target-${randomBytes(6).toString('hex')}`);
  writeFileSync(file, 'host\n');
  chownSync(file, uid, uid);
  // chown clears set-id bits: set them after
  chmodSync(file, 0o4755);
  return file;
}

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

  const probeOf = (log: string): Record<string, string> => {
    const match = /SKIFF-PROBE (\{.*\})/.exec(log);
    expect(match, log).not.toBeNull();
    return JSON.parse(match?.[1] ?? '{}') as Record<string, string>;
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

  /** Owner and mode of host files, to compare before and after a deploy. */
  const ownership = (files: string[]) =>
    files.map((file) => {
      const st = lstatSync(file);
      return { file, uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) };
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

describe('build time limit', () => {
  let p: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    p = await startPlatform({ config: { build: { npmScripts: true, timeoutMs: 5_000 } } });
  });

  afterAll(async () => {
    await p?.stop();
    if (dir !== undefined) await removeDir(dir);
  });

  it('a build that runs forever is killed at build.timeoutMs, with everything it started', async () => {
    const marker = `skiff-forever-${randomBytes(6).toString('hex')}`;
    dir = await folderWith({
      'index.js': 'export default () => "hi";\n',
      'dep/package.json': JSON.stringify({ name: 'dep', version: '1.0.0' }),
      'package.json': JSON.stringify({
        name: 'forever',
        version: '1.0.0',
        dependencies: { dep: 'file:./dep' },
        scripts: { postinstall: `(sh -c 'while true; do :; done; ${marker}' &) ; while true; do :; done` },
      }),
    });
    const started = Date.now();
    const res = await p.deploy('forever', dir);
    const body = (await res.json()) as Failure;
    expect(res.status).toBe(422);
    expect(body.error.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(body.error.message).toMatch(/did not finish within 5000 ms/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await eventually(() => processesWith(marker).length === 0)).toBe(true);
  });
});

describe('without a sandbox (--insecure-no-sandbox)', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform({ config: { sandbox: { mode: 'none' } } });
  });

  afterAll(async () => {
    await p?.stop();
    for (const dir of dirs) await removeDir(dir);
  });

  it('esbuild still refuses files outside the function folder', async () => {
    for (const target of [path.join(p.dataDir, 'admin-token'), '/etc/shadow', '../../admin-token']) {
      const dir = await folderWith({
        'index.ts': `import secret from ${JSON.stringify(target)} with { type: 'text' };\nexport default () => secret;\n`,
      });
      dirs.push(dir);
      const res = await p.deploy('steal', dir);
      const text = await res.text();
      expect(res.status, text).toBe(422);
      expect(text).not.toContain(p.token);
      expect(text).toContain('outside the function folder');
    }
  });
});
