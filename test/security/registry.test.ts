/**
 * Attacks on the registry and on what a function may ask for (issue 12): a tenant with deploy rights
 * floods it with failed deploys whose build prints a megabyte each, makes versions without end, and
 * asks its skiff.json for more memory, CPU, processes, /tmp and instances than the operator allows.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { folderWith } from '../helpers/tmp.js';
import { hasCallInFlight } from '../helpers/function-status.js';
import { waitUntil } from '../helpers/wait.js';

interface Failure {
  error: { code: string; message: string; details?: { buildLog?: string; version?: number } };
}

interface Detail {
  function: { liveVersion: number | null; versions: { version: number; live: boolean; buildLog?: string }[] };
}

const MAX_VERSIONS = 5;
const FLOOD_LINES = 5500;

/** A Python function whose requirement's build backend prints ~1 MiB and fails (no network needed). */
const FLOOD = {
  'skiff.json': '{ "runtime": "python" }',
  'main.py': 'def handle(request, ctx):\n    return "flood"\n',
  'requirements.txt': './pkg\n',
  'pkg/pyproject.toml': '[build-system]\nrequires = []\nbuild-backend = "flood"\nbackend-path = ["."]\n',
  'pkg/flood.py': [
    'import sys',
    'def _flood(*args, **kwargs):',
    '    print("FLOOD-START", flush=True)',
    `    for i in range(${FLOOD_LINES}):`,
    '        print("%06d %s" % (i, "x" * 180))',
    '    print("FLOOD-THE-REAL-ERROR", flush=True)',
    '    sys.exit(1)',
    'get_requires_for_build_wheel = _flood',
    'prepare_metadata_for_build_wheel = _flood',
    'build_wheel = _flood',
    '',
  ].join('\n'),
};

const fileSize = (file: string): number => (existsSync(file) ? statSync(file).size : 0);

/** registry.db with its WAL: what the registry takes on disk. */
const registryBytes = (dataDir: string): number =>
  fileSize(path.join(dataDir, 'registry.db')) + fileSize(path.join(dataDir, 'registry.db-wal'));

/** The status line of a raw HTTP/1.1 request (to see the reason phrase, which fetch hides). */
function statusLine(url: string, route: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve(text.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${JSON.stringify(text)}`)));
    socket.write(`GET ${route} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
  });
}

describe('registry: build logs and versions are bounded', () => {
  let p: TestPlatform;
  let flood: string;
  let good: string;

  beforeAll(async () => {
    p = await startPlatform({
      config: { build: { pipArgs: ['--no-index'] }, functions: { maxVersions: MAX_VERSIONS } },
    });
    flood = await folderWith(FLOOD);
    good = await folderWith({
      'skiff.json': '{ "runtime": "python" }',
      'main.py': 'def handle(request, ctx):\n    return "good %d" % ctx.version\n',
    });
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
    await removeDir(flood);
    await removeDir(good);
  });

  it('keeps registry.db small under a flood of failed deploys with a 1 MiB build log', async () => {
    expect((await p.deploy('pyflood', good)).status).toBe(201);
    const rounds = 12;
    for (let i = 0; i < rounds; i++) {
      const res = await p.deploy('pyflood', flood);
      const body = (await res.json()) as Failure;
      expect(res.status, JSON.stringify(body).slice(0, 500)).toBe(422);
      // the 422 carries the build log, bounded, with its start and its end (where the error is)
      const log = body.error.details?.buildLog ?? '';
      expect(log).toContain('FLOOD-START');
      expect(log).toContain('FLOOD-THE-REAL-ERROR');
      expect(log).toMatch(/characters of build output left out/);
      expect(log.length).toBeLessThan(80 * 1024);
      expect(body.error.message.length).toBeLessThan(8 * 1024);
    }
    // ~12 MiB of build output went in; the registry keeps at most 64 KiB of it per version
    expect(registryBytes(p.dataDir)).toBeLessThan(2 * 1024 * 1024);
    // the first (live) version still serves
    const call = await p.call('/pyflood');
    expect(await call.text()).toBe('good 1');
  });

  it('answers the function list and the function detail small and fast', async () => {
    for (const route of ['/v1/functions', '/v1/functions/pyflood']) {
      const started = Date.now();
      const res = await p.api(route);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text.length, route).toBeLessThan(128 * 1024);
      expect(Date.now() - started, route).toBeLessThan(1000);
      expect(text, route).not.toContain('x'.repeat(180));
    }
    const detail = (await (await p.api('/v1/functions/pyflood')).json()) as Detail;
    // at most maxVersions versions, the live one (v1, the oldest) among them
    expect(detail.function.versions.length).toBeLessThanOrEqual(MAX_VERSIONS);
    expect(detail.function.liveVersion).toBe(1);
    expect(detail.function.versions.map((v) => v.version)).toContain(1);
    // the build log of any other version has its own route
    const latest = detail.function.versions[detail.function.versions.length - 1];
    const one = await p.api(`/v1/functions/pyflood/versions/${latest?.version ?? 0}`);
    const version = ((await one.json()) as { version: { buildLog: string } }).version;
    expect(version.buildLog).toContain('FLOOD-THE-REAL-ERROR');
    const gone = await p.api('/v1/functions/pyflood/versions/2');
    expect(gone.status).toBe(404);
  });

  it('deletes versions beyond the cap with their code folders, never the live one', async () => {
    const sleepy = fixture('sleepy');
    expect((await p.deploy('many', sleepy)).status).toBe(201);
    // a long call holds version 1 while it is replaced: a draining version keeps its code
    const held = p.call('/many?ms=8000');
    await waitUntil('the long call to run', () => hasCallInFlight(p, 'many'), 5_000);
    for (let i = 0; i < MAX_VERSIONS + 3; i++) expect((await p.deploy('many', sleepy)).status).toBe(200);
    const v1 = (): string[] =>
      readdirSync(path.join(p.dataDir, 'functions', 'many')).filter((f) => f.startsWith('v1-'));
    expect(v1()).toHaveLength(1);
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { version: number }).version).toBe(1);
    // one more deploy: version 1 has drained by now and goes too
    expect((await p.deploy('many', sleepy)).status).toBe(200);
    const detail = (await (await p.api('/v1/functions/many')).json()) as Detail;
    const kept = detail.function.versions.map((v) => v.version);
    expect(kept.length).toBeLessThanOrEqual(MAX_VERSIONS);
    expect(detail.function.liveVersion).toBe(MAX_VERSIONS + 5);
    expect(kept).toContain(MAX_VERSIONS + 5);
    const folders = readdirSync(path.join(p.dataDir, 'functions', 'many'));
    expect(folders.length).toBeLessThanOrEqual(MAX_VERSIONS);
    expect(folders.map((f) => Number(/^v(\d+)-/.exec(f)?.[1])).sort((a, b) => a - b)).toEqual(
      [...kept].sort((a, b) => a - b),
    );
    const call = await p.call('/many');
    expect(((await call.json()) as { version: number }).version).toBe(MAX_VERSIONS + 5);
  });

  it('gives the space back when a function is deleted', async () => {
    const before = fileSize(path.join(p.dataDir, 'registry.db'));
    expect((await p.api('/v1/functions/pyflood', { method: 'DELETE' })).status).toBe(204);
    expect(fileSize(path.join(p.dataDir, 'registry.db'))).toBeLessThan(before - 128 * 1024);
  });
});

describe('registry: a function asks for no more than the operator allows', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform();
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  const withSpec = async (spec: unknown): Promise<string> => {
    const dir = await folderWith({
      'index.mjs': 'export default async () => "ok";\n',
      'skiff.json': JSON.stringify(spec),
    });
    dirs.push(dir);
    return dir;
  };

  it('refuses limits above sandbox.maxLimits with 400, naming the limit and the maximum', async () => {
    const attacks: [Record<string, number>, string][] = [
      [{ memoryMb: 65_536 }, 'limits.memoryMb is 65536, above the maximum 2048'],
      [{ cpus: 64 }, 'limits.cpus is 64, above the maximum 2'],
      [{ pids: 32_768 }, 'limits.pids is 32768, above the maximum 1024'],
      [{ tmpMb: 16_384 }, 'limits.tmpMb is 16384, above the maximum 1024'],
      [{ fileSizeMb: 1_048_576 }, 'limits.fileSizeMb is 1048576, above the maximum 1024'],
      [{ openFiles: 1_048_576 }, 'limits.openFiles is 1048576, above the maximum 65536'],
    ];
    for (const [limits, message] of attacks) {
      const res = await p.deploy('greedy', await withSpec({ limits }));
      const body = (await res.json()) as Failure;
      expect(res.status, JSON.stringify(limits)).toBe(400);
      expect(body.error.code).toBe('SKIFF_E_INVALID_SPEC');
      expect(body.error.message).toContain(message);
    }
    expect((await p.api('/v1/functions/greedy')).status).toBe(404);
  });

  it('refuses maxInstances above functions.maxInstancesCeiling, by skiff.json, deploy or PATCH', async () => {
    const bySpec = await p.deploy('crowd', await withSpec({ scaling: { maxInstances: 100 } }));
    expect(bySpec.status).toBe(400);
    expect(((await bySpec.json()) as Failure).error).toMatchObject({
      code: 'SKIFF_E_INVALID_SCALING',
      message: expect.stringContaining('maxInstances is 100, above the maximum 20') as unknown,
    });
    const byQuery = await p.deploy('crowd', await withSpec({}), '?maxInstances=50');
    expect(byQuery.status).toBe(400);
    expect(((await byQuery.json()) as Failure).error.code).toBe('SKIFF_E_INVALID_SCALING');

    expect((await p.deploy('crowd', await withSpec({ scaling: { maxInstances: 20 } }))).status).toBe(201);
    const patch = await p.api('/v1/functions/crowd/scaling', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ minInstances: 30, maxInstances: 30 }),
    });
    expect(patch.status).toBe(400);
    expect(((await patch.json()) as Failure).error.message).toContain('above the maximum 20');
  });

  it('deploys limits and scaling within the ceilings', async () => {
    const spec = {
      limits: { memoryMb: 512, cpus: 2, pids: 256, tmpMb: 128, fileSizeMb: 128 },
      scaling: { maxInstances: 5 },
    };
    const res = await p.deploy('modest', await withSpec(spec));
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await (await p.call('/modest')).text()).toBe('ok');
  });

  it('answers a header the gateway refuses with "502 Bad Gateway"', async () => {
    expect((await p.deploy('respond-as', fixture('respond-as'))).status).toBe(201);
    const line = await statusLine(p.httpUrl, '/respond-as?type=text%01plain');
    expect(line).toBe('HTTP/1.1 502 Bad Gateway');
  });
});
