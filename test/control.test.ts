import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionRoutes } from '../src/control/functions.js';
import { invocationRoutes } from '../src/control/invocations.js';
import { metaRoutes } from '../src/control/meta.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform, fixture } from './helpers/platform.js';

/** A tar.gz whose single entry is named `name` (e.g. `../escaped.txt`), written by hand-built header. */
function tarWithEntry(name: string, content: string): Promise<Buffer> {
  const header = Buffer.alloc(512, 0);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${Buffer.byteLength(content).toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  const sum = [...header].reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(content) / 512) * 512, 0);
  data.write(content);
  const raw = Buffer.concat([header, data, Buffer.alloc(1024, 0)]);
  return import('node:zlib').then((z) => z.gzipSync(raw));
}

describe('control API', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('answers 401 with a JSON error on every private route without or with a wrong token', async () => {
    const routes = [
      ...metaRoutes({} as never),
      ...invocationRoutes({} as never),
      ...functionRoutes({} as never),
    ].filter((r) => r.public !== true);
    expect(routes.length).toBeGreaterThanOrEqual(6);
    for (const route of routes) {
      const url = `${p.controlUrl}${route.path.replace('{name}', 'hello').replace('{secret}', 'API_KEY').replace('{id}', 'x')}`;
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${p.token}` }]) {
        const res = await fetch(url, { method: route.method, headers });
        expect(res.status, `${route.method} ${route.path}`).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_UNAUTHORIZED' } });
      }
    }
    expect((await p.api('/v1/functions')).status).toBe(200);
  });

  it('serves its OpenAPI document without a token', async () => {
    const res = await fetch(`${p.controlUrl}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/v1/functions/{name}');
  });

  it('validates function names with a clear error', async () => {
    for (const bad of ['Upper', '-dash', 'a_b', 'x'.repeat(64)]) {
      const res = await p.deploy(bad, fixture('echo-cjs'));
      expect(res.status, bad).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('SKIFF_E_INVALID_NAME');
      expect(body.error.message).toContain('lower-case');
    }
  });

  it('deploys versions with content hashes, lists, gets, and deletes', async () => {
    const first = await p.deploy('lifecycle', fixture('echo-cjs'));
    expect(first.status).toBe(201);
    const v1 = (await first.json()) as { version: { version: number; hash: string; live: boolean } };
    expect(v1.version).toMatchObject({ version: 1, live: true });
    expect(v1.version.hash).toMatch(/^[0-9a-f]{64}$/);

    const again = await p.deploy('lifecycle', fixture('echo-cjs'));
    expect(again.status).toBe(200);
    const v2 = (await again.json()) as { version: { version: number; hash: string } };
    expect(v2.version.version).toBe(2);
    expect(v2.version.hash).toBe(v1.version.hash);

    const list = (await (await p.api('/v1/functions')).json()) as {
      functions: { name: string; liveVersion: number }[];
    };
    expect(list.functions.find((f) => f.name === 'lifecycle')?.liveVersion).toBe(2);

    const got = (await (await p.api('/v1/functions/lifecycle')).json()) as {
      function: { versions: { version: number; live: boolean; status: string }[]; runtime: string };
    };
    expect(got.function.runtime).toBe('node');
    expect(got.function.versions.map((v) => [v.version, v.live, v.status])).toEqual([
      [1, false, 'ready'],
      [2, true, 'ready'],
    ]);
    const echo = (await (await p.call('/lifecycle')).json()) as { version: number };
    expect(echo.version).toBe(2);

    const del = await p.api('/v1/functions/lifecycle', { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await p.call('/lifecycle')).status).toBe(404);
    expect((await p.api('/v1/functions/lifecycle')).status).toBe(404);
    expect((await p.api('/v1/functions/lifecycle', { method: 'DELETE' })).status).toBe(404);
    expect(await readdir(path.join(p.dataDir, 'functions'))).not.toContain('lifecycle');
  });

  it('POST /versions deploys a new version only of an existing function', async () => {
    const body = await tar.c({ gzip: true, cwd: fixture('echo-cjs') }, ['index.js']).concat();
    const missing = await p.api('/v1/functions/not-yet/versions', {
      method: 'POST',
      headers: { 'content-type': 'application/gzip' },
      body,
    });
    expect(missing.status).toBe(404);
  });

  it('compiles a TypeScript function at deploy time', async () => {
    const res = await p.deploy('typed', fixture('typed-ts'));
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await (await p.call('/typed?who=ts')).json()).toEqual({ greeting: 'hi ts', from: 'typed' });
  });

  it('installs package.json dependencies from a local tarball, and shows the build output', async () => {
    const dir = path.join(await makeDataDir(), 'with-dep');
    try {
      await cp(fixture('with-dep'), dir, { recursive: true });
      await mkdir(path.join(dir, 'vendor'));
      await tar.c(
        {
          gzip: true,
          file: path.join(dir, 'vendor', 'shout-1.0.0.tgz'),
          cwd: fixture('dep-pkg'),
          prefix: 'package',
        },
        ['package.json', 'index.js'],
      );
      const res = await p.deploy('with-dep', dir);
      const body = (await res.json()) as { version: { buildLog: string } };
      expect(res.status, JSON.stringify(body)).toBe(201);
      expect(body.version.buildLog).toContain('npm install');
      expect(body.version.buildLog).toMatch(/added 1 package/);
      const call = await p.call('/with-dep', { method: 'POST', body: 'quiet' });
      expect(await call.text()).toBe('QUIET!');
    } finally {
      await removeDir(path.dirname(dir));
    }
  });

  it('a failed build fails the deploy with its output and leaves the previous version live', async () => {
    const good = await p.deploy('keeps', fixture('typed-ts'));
    expect(good.status).toBe(201);
    const bad = await p.deploy('keeps', fixture('broken-ts'));
    expect(bad.status).toBe(422);
    const err = (await bad.json()) as {
      error: { code: string; details: { buildLog: string; version: number } };
    };
    expect(err.error.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(err.error.details.version).toBe(2);
    expect(err.error.details.buildLog).toMatch(/Expected "}" but found ";"|ERROR/);
    expect((await p.call('/keeps')).status).toBe(200);
    const got = (await (await p.api('/v1/functions/keeps')).json()) as {
      function: { liveVersion: number; versions: { version: number; status: string }[] };
    };
    expect(got.function.liveVersion).toBe(1);
    expect(got.function.versions.map((v) => v.status)).toEqual(['ready', 'failed']);
  });

  it('a failed first deploy leaves no function behind, and a later good deploy makes version 1', async () => {
    const bad = await p.deploy('never-built', fixture('broken-ts'));
    expect(bad.status).toBe(422);
    const err = (await bad.json()) as {
      error: { code: string; message: string; details: { buildLog: string; version: number } };
    };
    expect(err.error.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(err.error.message).toContain('never-built had no working version, so it was not created');
    expect(err.error.details.buildLog).toMatch(/Expected "}" but found ";"|ERROR/);
    expect((await p.api('/v1/functions/never-built')).status).toBe(404);
    const list = (await (await p.api('/v1/functions')).json()) as { functions: { name: string }[] };
    expect(list.functions.map((f) => f.name)).not.toContain('never-built');
    const good = await p.deploy('never-built', fixture('typed-ts'));
    expect(good.status, await good.clone().text()).toBe(201);
    const created = (await good.json()) as { version: { version: number } };
    expect(created.version.version).toBe(1);
  });

  it('infers the runtime of a folder whose skiff.json names none, and says so in the build log', async () => {
    const root = await makeDataDir();
    try {
      const py = path.join(root, 'py-only');
      await mkdir(py);
      await writeFile(path.join(py, 'main.py'), 'def handle(req, ctx):\n    return "from python"\n');
      const sh = path.join(root, 'sh-only');
      await mkdir(sh);
      await writeFile(path.join(sh, 'fn.sh'), '#!/bin/sh\necho from-shell\n', { mode: 0o755 });
      for (const [name, dir, runtime, from, answer] of [
        ['infer-py', py, 'python', 'main.py', 'from python'],
        ['infer-sh', sh, 'binary', 'fn.sh', 'from-shell'],
      ] as const) {
        const res = await p.deploy(name, dir);
        const body = (await res.json()) as { version: { buildLog: string } };
        expect(res.status, JSON.stringify(body)).toBe(201);
        expect(body.version.buildLog).toContain(`runtime (inferred): ${runtime}, from ${from}`);
        expect(await (await p.call(`/${name}`)).text()).toContain(answer);
      }
    } finally {
      await removeDir(root);
    }
  });

  it('a JavaScript syntax error fails the deploy naming the file, line and column', async () => {
    const root = await makeDataDir();
    try {
      const dir = path.join(root, 'js-syntax');
      await mkdir(path.join(dir, 'lib'), { recursive: true });
      await writeFile(
        path.join(dir, 'index.mjs'),
        "import { greet } from './lib/greet.mjs';\nexport default () => greet();\n",
      );
      await writeFile(path.join(dir, 'lib', 'greet.mjs'), 'export function greet() {\n  return "hi" +;\n}\n');
      const res = await p.deploy('js-syntax', dir);
      const body = (await res.json()) as {
        error: { code: string; message: string; details: { buildLog: string } };
      };
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(body.error.message).toMatch(/failed to load index\.mjs: SyntaxError: Unexpected token/);
      expect(body.error.message).toMatch(/lib\/greet\.mjs:2:16: Unexpected ";"/);
      expect(body.error.details.buildLog).toContain('lib/greet.mjs:2:16');
    } finally {
      await removeDir(root);
    }
  });

  it('a module that fails to load fails the deploy and the previous version keeps serving', async () => {
    const dir = path.join(await makeDataDir(), 'loadfail');
    try {
      await mkdir(dir);
      await writeFile(path.join(dir, 'index.mjs'), "throw new Error('init-marker');\n");
      expect((await p.deploy('keeps', dir)).status).toBe(422);
      expect((await p.call('/keeps')).status).toBe(200);
    } finally {
      await removeDir(path.dirname(dir));
    }
  });

  it('rejects an archive with ../ paths and writes nothing outside the staging folder', async () => {
    const before = await readdir(p.dataDir, { recursive: true });
    const archive = await tarWithEntry('../../escaped-marker.txt', 'owned');
    const res = await p.api('/v1/functions/evil', {
      method: 'PUT',
      headers: { 'content-type': 'application/gzip' },
      body: archive,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_ARCHIVE_UNSAFE' } });
    const after = await readdir(p.dataDir, { recursive: true });
    expect(after.filter((f) => !f.startsWith('logs'))).toEqual(before.filter((f) => !f.startsWith('logs')));
    const parent = await readdir(path.dirname(p.dataDir));
    expect(parent).not.toContain('escaped-marker.txt');
    expect((await p.api('/v1/functions/evil')).status).toBe(404);
  });

  it('refuses a body that is not an archive', async () => {
    const res = await p.api('/v1/functions/junk', {
      method: 'PUT',
      headers: { 'content-type': 'application/gzip' },
      body: 'not an archive',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_ARCHIVE_INVALID' } });
  });
});

describe('restart', () => {
  it('keeps functions, versions and hashes across a restart', async () => {
    const dataDir = await makeDataDir();
    try {
      let p = await startPlatform({ dataDir });
      expect((await p.deploy('persist', fixture('echo-cjs'))).status).toBe(201);
      expect((await p.deploy('persist', fixture('echo-cjs'))).status).toBe(200);
      const before = await (await p.api('/v1/functions/persist')).json();
      await p.stop();

      p = await startPlatform({ dataDir });
      try {
        const after = (await (await p.api('/v1/functions/persist')).json()) as {
          function: { liveVersion: number; versions: unknown[] };
        };
        expect(after.function.liveVersion).toBe(2);
        expect(after.function.versions).toEqual((before as typeof after).function.versions);
        const echo = (await (await p.call('/persist/again')).json()) as { version: number; path: string };
        expect(echo).toMatchObject({ version: 2, path: '/again' });
      } finally {
        await p.stop();
      }
    } finally {
      await removeDir(dataDir);
    }
  });
});
