/**
 * `POST /v1/compat/baetyl/import` and `skiff compat baetyl import` on the real platform: a Baetyl 1.0
 * function manager's configuration (with the Python runtime's own file) and an OpenEdge 0.1.1
 * module.yml, with Python and Node code folders, become functions whose specs carry the flavor, the
 * scaling, the timeout and the MQTT rules; refusals name the key.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../src/store/archive/pack.js';
import { defaultLogin } from './helpers/mqtt.js';
import { Inbox, subscribed } from './mqtt/setup.js';
import { FIXTURES, makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'skiff.js');
const V1 = path.join(FIXTURES, 'baetyl-import', 'v1');
const V011 = path.join(FIXTURES, 'baetyl-import', 'v011');

interface Spec {
  runtime: string;
  handler: string;
  flavor: string;
  timeoutMs: number;
  env: Record<string, string>;
  scaling: Record<string, number>;
  limits?: Record<string, number>;
  triggers?: { mqtt?: Record<string, unknown>[] };
}

interface Result {
  format: string;
  dryRun: boolean;
  functions: { name: string; version?: number; runtime: string; service?: string; flavor: string }[];
  rules: Record<string, unknown>[];
  services: Record<string, string[]>;
  hub?: { address: string; sameAsSkiff: boolean };
  warnings: string[];
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env, timeout: 120_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        resolve({ code: err === null ? 0 : typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

describe('importing Baetyl and OpenEdge configurations', () => {
  let p: TestPlatform;
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  const importApi = async (dir: string, query: string, token = true): Promise<Response> =>
    (token ? p.api : (route: string, init?: RequestInit) => fetch(`${p.controlUrl}${route}`, init))(
      `/v1/compat/baetyl/import?${query}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/gzip' },
        body: await packDirectory(dir),
      },
    );

  const specOf = async (name: string): Promise<{ spec: Spec; versions: { version: number }[] }> => {
    const res = await p.api(`/v1/functions/${name}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { function: { spec: Spec; versions: { version: number }[] } }).function;
  };

  beforeAll(async () => {
    p = await startPlatform({ config: { compat: { baetyl: { enabled: true } } } });
    scratch = await makeDataDir();
    env = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('SKIFF_')) env[key] = value;
    env['SKIFF_HOME'] = p.dataDir;
  });

  afterAll(async () => {
    await p?.stop();
    if (p) await removeDir(p.dataDir);
    if (scratch) await removeDir(scratch);
  });

  it('deploys a 1.0 configuration through the API, with the runtime file, and again as new versions', async () => {
    const query = 'config=etc/baetyl/service.yml&runtimeConfig=etc/baetyl/python.yml';
    const res = await importApi(V1, query);
    const result = (await res.json()) as Result;
    expect(res.status, JSON.stringify(result)).toBe(201);
    expect(result.format).toBe('baetyl');
    expect(result.functions.map((fn) => [fn.name, fn.runtime, fn.service, fn.version])).toEqual([
      ['sayhi', 'python', 'function-python', 1],
      ['sayjs', 'node', 'function-node', 1],
    ]);
    expect(result.services).toEqual({ 'function-python': ['sayhi'], 'function-node': ['sayjs'] });
    expect(result.hub).toEqual({ address: 'tcp://baetyl-hub:1883', sameAsSkiff: false });
    expect(result.warnings.join('\n')).toMatch(/rules\[1\]: subscribe\.qos is 1 and publish\.qos is not set/);
    expect(result.warnings.join('\n')).toMatch(
      /hub\.address tcp:\/\/baetyl-hub:1883 is not Skiff's MQTT broker/,
    );

    const sayhi = (await specOf('sayhi')).spec;
    expect(sayhi).toMatchObject({
      runtime: 'python',
      handler: 'index.handler',
      flavor: 'baetyl',
      timeoutMs: 10_000,
      scaling: { minInstances: 0, maxInstances: 4, idleTimeoutMs: 60_000, concurrency: 1 },
    });
    expect(sayhi.triggers?.mqtt).toEqual([
      {
        subscribe: 't',
        publish: 't/hi',
        qos: 1,
        publishQos: 1,
        attempts: 3,
        onError: 'publish',
        maxPayloadBytes: 4194304,
      },
    ]);
    const sayjs = (await specOf('sayjs')).spec;
    expect(sayjs).toMatchObject({
      runtime: 'node',
      flavor: 'baetyl',
      timeoutMs: 30_000,
      scaling: { minInstances: 0, maxInstances: 1, idleTimeoutMs: 600_000, concurrency: 1 },
    });
    expect(sayjs.triggers?.mqtt).toEqual([
      {
        subscribe: 't/js',
        publish: 't/js/hi',
        qos: 1,
        publishQos: 0,
        attempts: 1,
        onError: 'publish',
        maxPayloadBytes: 4194304,
      },
    ]);

    // idempotent: the same import again makes new versions of the same functions
    const again = (await (await importApi(V1, query)).json()) as Result;
    expect(again.functions.map((fn) => [fn.name, fn.version])).toEqual([
      ['sayhi', 2],
      ['sayjs', 2],
    ]);
  });

  it("runs the imported rules on Skiff's broker: a message on t comes back from the Python handler on t/hi", async () => {
    await subscribed(p.dataDir, ['t', 't/js']);
    const client = await connectAsync(p.server.endpoints['mqtt'] as string, {
      ...defaultLogin(p),
      clientId: 'baetyl-import',
      reconnectPeriod: 0,
    });
    try {
      const inbox = new Inbox(client);
      await client.subscribeAsync(['t/hi', 't/js/hi'], { qos: 1 });
      await client.publishAsync('t', JSON.stringify({ n: 1 }), { qos: 1 });
      const hi = await inbox.next('t/hi');
      expect(JSON.parse(hi.payload.toString())).toEqual({ n: 1, say: 'hi' });
      await client.publishAsync('t/js', JSON.stringify({ n: 2 }), { qos: 1 });
      const js = await inbox.next('t/js/hi');
      expect(JSON.parse(js.payload.toString())).toEqual({ say: 'hi', event: { n: 2 } });
    } finally {
      await client.endAsync();
    }
  });

  it('shows the specs in a dry run without deploying', async () => {
    const res = await importApi(
      V1,
      'config=etc/baetyl/service.yml&runtimeConfig=etc/baetyl/python.yml&dryRun=true',
    );
    const result = (await res.json()) as Result;
    expect(res.status).toBe(200);
    expect(result.dryRun).toBe(true);
    expect(result.functions.map((fn) => [fn.name, fn.flavor, fn.version])).toEqual([
      ['sayhi', 'baetyl', undefined],
      ['sayjs', 'baetyl', undefined],
    ]);
    expect((await specOf('sayhi')).versions).toHaveLength(2);
  });

  it('refuses with a 4xx naming the key, and deploys nothing', async () => {
    const dir = await mkdtemp(path.join(scratch, 'bad-'));
    await cp(V011, dir, { recursive: true });
    const text = await readFile(path.join(V011, 'module.yml'), 'utf8');
    const refused = async (edit: string, pattern: RegExp, query = 'config=module.yml'): Promise<void> => {
      await writeFile(path.join(dir, 'module.yml'), edit);
      const res = await importApi(dir, query);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(body.error.code).toBe('SKIFF_E_INVALID_SPEC');
      expect(body.error.message).toMatch(pattern);
    };
    await refused(
      text.replace('max: 10', 'max: 0'),
      /^module\.yml: functions\[0\]\.instance\.max: 0 is out of range 1–100/,
    );
    await refused(text.replace('max: 10', 'max: 101'), /functions\[0\]\.instance\.max: 101 is out of range/);
    await refused(text.replaceAll('sayhi\n', 'a b\n'), /functions\[0\]\.name: "a b" is not a function name/);
    await refused(text.replace('runtime: python36', 'runtime: python27'), /Python 2 is not supported/);
    await refused(
      text.replace('function: sayjs', 'function: nobody'),
      /rules\[1\]\.compute\.function: no function named "nobody"/,
    );
    await refused(
      text.replace('codedir: app/sayjs', 'codedir: app/missing'),
      /codedir "app\/missing" is not a folder/,
    );
    await refused(
      text.replace('handler: index.handler', 'handler: nothing.handler'),
      /cannot tell its runtime/,
    );
    const missing = await importApi(dir, 'config=nothing.yml');
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      'SKIFF_E_INVALID_REQUEST',
    );
    expect((await importApi(dir, 'config=../module.yml')).status).toBe(400);
    expect((await p.api('/v1/functions/a')).status).toBe(404);
  });

  it('needs the admin token', async () => {
    const res = await importApi(V011, 'config=module.yml', false);
    expect(res.status).toBe(401);
  });

  it('imports a 0.1.1 module.yml with the CLI, inferring the Node runtime from the code', async () => {
    const r = await runCli(['compat', 'baetyl', 'import', path.join(V011, 'module.yml'), '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Result;
    expect(result.format).toBe('openedge');
    expect(result.functions.map((fn) => [fn.name, fn.runtime])).toEqual([
      ['sayhi', 'python'],
      ['sayjs', 'node'],
    ]);
    const sayhi = (await specOf('sayhi')).spec;
    expect(sayhi).toMatchObject({
      flavor: 'openedge',
      runtime: 'python',
      handler: 'sayhi.handler',
      timeoutMs: 20_000,
      env: { USER_ID: 'acuiot' },
      scaling: { minInstances: 0, maxInstances: 10, idleTimeoutMs: 60_000, concurrency: 1 },
      limits: { cpus: 0.5, memoryMb: 64 },
    });
    // 0.1.1: no retry, QoS 0 by default
    expect(sayhi.triggers?.mqtt).toEqual([
      {
        subscribe: 't',
        publish: 't/hi',
        qos: 0,
        publishQos: 0,
        attempts: 1,
        onError: 'publish',
        maxPayloadBytes: 4194304,
      },
    ]);
    const sayjs = (await specOf('sayjs')).spec;
    expect(sayjs).toMatchObject({ flavor: 'openedge', runtime: 'node', timeoutMs: 300_000 });
    expect(sayjs.triggers?.mqtt).toEqual([
      {
        subscribe: 't/js',
        publish: 't/js/hi',
        qos: 1,
        publishQos: 1,
        attempts: 1,
        onError: 'publish',
        maxPayloadBytes: 4194304,
      },
    ]);
  });

  it('imports a 1.0 configuration with the CLI from etc/baetyl (the base two folders up), and shows refusals', async () => {
    const r = await runCli(
      [
        'compat',
        'baetyl',
        'import',
        path.join(V1, 'etc', 'baetyl', 'service.yml'),
        '--runtime-config',
        path.join(V1, 'etc', 'baetyl', 'python.yml'),
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✔ Imported 2 function\(s\) from a Baetyl 1\.0 configuration/);
    expect(r.stdout).toMatch(/sayhi\s+\d+\s+python\s+index\.handler\s+0\s+4\s+10s/);
    expect(r.stdout).toMatch(/⚠ rules\[1\]: subscribe\.qos is 1/);
    expect((await specOf('sayhi')).spec.flavor).toBe('baetyl');

    const dir = await mkdtemp(path.join(scratch, 'cli-'));
    await writeFile(
      path.join(dir, 'service.yml'),
      'functions:\n  - name: f\n    service: s\n    handler: a.b\n    instance: {max: 0}\n',
    );
    const bad = await runCli(['compat', 'baetyl', 'import', path.join(dir, 'service.yml')], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/service\.yml: functions\[0\]\.instance\.max: 0 is out of range 1–100/);
    expect(bad.stderr).toMatch(/SKIFF_E_INVALID_SPEC/);
  });
});

describe('importing without the Baetyl dialect', () => {
  it('is not found, and the CLI says how to switch it on', async () => {
    const p = await startPlatform();
    try {
      const env: NodeJS.ProcessEnv = {};
      for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('SKIFF_')) env[key] = value;
      env['SKIFF_HOME'] = p.dataDir;
      const r = await runCli(['compat', 'baetyl', 'import', path.join(V011, 'module.yml')], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/SKIFF_E_NOT_FOUND/);
      expect(r.stderr).toMatch(/skiff serve --baetyl/);
    } finally {
      await p.stop();
      await removeDir(p.dataDir);
    }
  });
});
