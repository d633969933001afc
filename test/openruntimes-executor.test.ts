/**
 * The Open Runtimes executor API (compat.openruntimes) driven as upstream's executor clients drive it:
 * real HTTP with JSON and multipart parameters, real function folders written for upstream packed as
 * tar.gz into the executor's storage, builds in the build sandbox, executions of Node and Python
 * functions. The numbers in the test names are the points of the acceptance list in
 * docs/compat/openruntimes.md ("Executor API").
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/platform.js';
import { quietFor, waitUntil } from './helpers/wait.js';
import { buildWheel } from './helpers/wheels.js';
import {
  SECRET,
  multipartFields,
  startExecutor,
  type ExecutorPlatform,
} from './openruntimes/executor-client.js';

const fixture = (name: string): string => path.join(FIXTURES, 'openruntimes', name);
const NODE_IMAGE = 'openruntimes/node:v5-22';
const PYTHON_IMAGE = 'openruntimes/python:v5-3.12';
const build = (install: string): string =>
  `tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh "${install}"`;
const START = 'cp /tmp/code.tar.gz /mnt/code/code.tar.gz && nohup helpers/start.sh "bash helpers/server.sh"';
const JSON_ACCEPT = { accept: 'application/json' };

interface Outcome {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: string;
  logs: string;
  errors: string;
  duration: number;
  startTime: number;
}

describe('Open Runtimes executor API', () => {
  let e: ExecutorPlatform;
  const artifacts: Record<string, string> = {};
  const cleanup: string[] = [];

  /** Deploys a copy of the Node fixture through Skiff's own API, as flavor openruntimes with `env`. */
  const deployCopy = async (name: string, env: Record<string, string>): Promise<void> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'skiff-test-or-'));
    try {
      await cp(fixture('node-exec'), dir, { recursive: true });
      // its routes here need no dependency
      await writeFile(path.join(dir, 'package.json'), '{"name":"or-copy","version":"1.0.0"}');
      await writeFile(
        path.join(dir, 'skiff.json'),
        JSON.stringify({ runtime: 'node', flavor: 'openruntimes', env }),
      );
      const res = await e.p.deploy(name, dir);
      expect(res.status, await res.text()).toBe(201);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  /** An execution answered as JSON. */
  const execute = async (id: string, params: Record<string, unknown> = {}): Promise<Outcome> => {
    const res = await e.call('POST', `/runtimes/${id}/executions`, params, { headers: JSON_ACCEPT });
    expect(res.status, res.text).toBe(200);
    return res.json as Outcome;
  };

  beforeAll(async () => {
    e = await startExecutor();
    // the function depends on a package tarball beside it (`file:vendor/greet-1.0.0.tgz`)
    const node = await mkdtemp(path.join(tmpdir(), 'skiff-test-or-'));
    cleanup.push(node);
    await cp(fixture('node-exec'), node, { recursive: true });
    mkdirSync(path.join(node, 'vendor'));
    execFileSync('npm', ['pack', '--silent', '--pack-destination', path.join(node, 'vendor')], {
      cwd: fixture('greet'),
    });
    e.store(node, '/storage/functions/node/code.tar.gz');
    // the Python function installs a wheel shipped with its code (PyPI is out of reach here)
    const python = await mkdtemp(path.join(tmpdir(), 'skiff-test-or-'));
    cleanup.push(python);
    await cp(fixture('python-exec'), python, { recursive: true });
    mkdirSync(path.join(python, 'wheels'));
    buildWheel(path.join(python, 'wheels'));
    await writeFile(path.join(python, 'requirements.txt'), 'skiffdemo==1.0\n');
    e.store(python, '/storage/functions/python/code.tar.gz');
    e.store(fixture('node-noexport'), '/storage/functions/noexport/code.tar.gz');
    e.store(fixture('python-nomain'), '/storage/functions/nomain/code.tar.gz');
    e.store(fixture('node-slowstart'), '/storage/functions/slowstart/code.tar.gz');
    for (const [id, image, source, install, entrypoint] of [
      ['node', NODE_IMAGE, 'node', 'npm install && npm run build', 'index.js'],
      [
        'py',
        PYTHON_IMAGE,
        'python',
        'python3 -m pip install --no-index --find-links ./wheels -r requirements.txt && python3 build.py',
        'main.py',
      ],
    ] as const) {
      const made = await e.call('POST', '/runtimes', {
        runtimeId: `build-${id}`,
        source: `/storage/functions/${source}/code.tar.gz`,
        destination: '/storage/builds/test',
        entrypoint,
        image,
        command: build(install),
        remove: true,
      });
      if (made.status !== 201) throw new Error(`building ${id}: ${made.status} ${made.text}`);
      artifacts[id] = (made.json as { path: string }).path;
      const started = await e.call('POST', '/runtimes', {
        runtimeId: id,
        source: artifacts[id],
        entrypoint,
        image,
        runtimeEntrypoint: START,
      });
      if (started.status !== 201) throw new Error(`starting ${id}: ${started.status} ${started.text}`);
    }
  }, 180_000);

  afterAll(async () => {
    await e?.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  it('1: health needs no key and answers OK; every response says Server: Executor', async () => {
    const health = await e.call('GET', '/health', {}, { auth: null });
    expect(health.status).toBe(200);
    expect(health.text).toBe('OK');
    for (const res of [
      health,
      await e.call('GET', '/runtimes'),
      await e.call('GET', '/runtimes/nope'),
      await e.call('GET', '/unknown'),
      await e.call('POST', '/runtimes/node/executions', {}),
    ]) {
      expect(res.headers.get('server')).toBe('Executor');
    }
  });

  it('2: a missing or wrong key is 401 general_unauthorized; any scheme word passes; commands need it', async () => {
    for (const auth of [null, 'Bearer wrong', `Bearer${SECRET}`, SECRET, `Bearer ${SECRET}x`]) {
      const res = await e.call('GET', '/runtimes', {}, { auth });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({
        type: 'general_unauthorized',
        message: 'Missing executor key',
        code: 401,
        version: expect.any(String),
      });
      expect(res.headers.get('cache-control')).toBe('no-cache, no-store, must-revalidate');
      expect(res.headers.get('pragma')).toBe('no-cache');
      expect(res.headers.get('expires')).toBe('0');
    }
    for (const auth of [`Bearer ${SECRET}`, `Key ${SECRET}`]) {
      expect((await e.call('GET', '/runtimes', {}, { auth })).status).toBe(200);
    }
    const command = await e.call('POST', '/runtimes/node/commands', { command: 'true' }, { auth: null });
    expect(command.status).toBe(401);
    const execution = await e.call('POST', '/runtimes/node/executions', {}, { auth: 'Bearer no' });
    expect(execution.status).toBe(401);
  });

  it('3: a build with npm install answers 201 with its output; a failing build is 400 build_failed', async () => {
    const ok = await e.call('POST', '/runtimes', {
      runtimeId: 'build-ok',
      source: '/storage/functions/node/code.tar.gz',
      entrypoint: 'index.js',
      image: NODE_IMAGE,
      command: build('npm install && npm run build'),
      remove: true,
    });
    expect(ok.status, ok.text).toBe(201);
    const body = ok.json as {
      output: { timestamp: string; content: string }[];
      startTime: number;
      duration: number;
    };
    expect(body.output.length).toBeGreaterThan(1);
    for (const entry of body.output) {
      expect(entry.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
      expect(entry.content).not.toBe('');
    }
    const text = body.output.map((entry) => entry.content).join('');
    expect(text).toContain('Step: building');
    expect(text).toContain('Build finished');
    expect(body.startTime).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(body.duration).toBeGreaterThan(0);

    const failed = await e.call('POST', '/runtimes', {
      runtimeId: 'build-fails',
      source: '/storage/functions/node/code.tar.gz',
      image: NODE_IMAGE,
      command: build('echo First log && exit 1'),
      remove: true,
    });
    expect(failed.status).toBe(400);
    const error = failed.json as { type: string; message: string };
    expect(error.type).toBe('build_failed');
    expect(error.message).toContain('First log');
    expect(error.message.endsWith('Build command exited with code 1.')).toBe(true);
    // a command not in upstream's form runs as written, in the code folder
    const plain = await e.call('POST', '/runtimes', {
      runtimeId: 'build-plain',
      source: '/storage/functions/node/code.tar.gz',
      image: NODE_IMAGE,
      command: 'cp doesnotexist.js doesnotexist2.js',
      remove: true,
    });
    expect(plain.status).toBe(400);
    expect((await e.call('GET', '/runtimes/build-fails')).status).toBe(404);
  }, 120_000);

  it('4: a bad cache key is 400, a taken id 409, and a destination stores the artifact', async () => {
    const bad = await e.call('POST', '/runtimes', {
      runtimeId: 'cache',
      source: '/storage/functions/node/code.tar.gz',
      image: NODE_IMAGE,
      cacheKey: '-bad',
    });
    expect(bad.status).toBe(400);
    expect((bad.json as { message: string }).message).toBe(
      'Cache key must start with a letter or number and may only contain letters, numbers, dots, underscores, and hyphens.',
    );
    const again = await e.call('POST', '/runtimes', {
      runtimeId: 'node',
      source: artifacts['node'],
      image: NODE_IMAGE,
    });
    expect(again.status).toBe(409);
    expect((again.json as { type: string }).type).toBe('runtime_conflict');
    const stored = path.join(e.root, artifacts['node'] ?? '');
    expect(artifacts['node']).toMatch(/^\/storage\/builds\/test\/[0-9a-f]+\.tar\.gz$/);
    expect(statSync(stored).size).toBeGreaterThan(100);
    // a missing source is the executor's failure, not the client's
    const missing = await e.call('POST', '/runtimes', {
      runtimeId: 'missing-source',
      source: '/storage/fake_path/code.tar.gz',
      image: NODE_IMAGE,
      command: build('npm install'),
    });
    expect(missing.status).toBe(500);
  });

  it('5: list has the ten fields and never the key; unknown ids are 404; delete answers 200 empty', async () => {
    const list = await e.call('GET', '/runtimes');
    const runtimes = list.json as Record<string, unknown>[];
    const node = runtimes.find((runtime) => runtime['name'] === 'node');
    expect(Object.keys(node ?? {}).sort()).toEqual(
      [
        'created',
        'hostname',
        'image',
        'initialised',
        'key',
        'listening',
        'name',
        'status',
        'updated',
        'version',
      ].sort(),
    );
    expect(node).toMatchObject({ key: '', image: NODE_IMAGE, version: 'v5', initialised: 1, listening: 1 });
    expect(String(node?.['status'])).toMatch(/^Up \d+(\.\d)?s$/);
    expect((await e.call('GET', '/runtimes/node')).json).toMatchObject({ name: 'node', key: '' });
    for (const method of ['GET', 'DELETE']) {
      const res = await e.call(method, '/runtimes/nope');
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ type: 'runtime_not_found', message: 'Runtime not found', code: 404 });
    }
    const made = await e.call(
      'POST',
      '/runtimes',
      {
        runtimeId: 'to-delete',
        source: artifacts['node'],
        image: NODE_IMAGE,
        variables: { A: 'b' },
        memory: '256',
      },
      { multipart: true },
    );
    expect(made.status).toBe(201);
    const removed = await e.call('DELETE', '/runtimes/to-delete');
    expect(removed.status).toBe(200);
    expect(removed.text).toBe('');
    expect((await e.call('GET', '/runtimes/to-delete')).status).toBe(404);
    expect((await e.p.api('/v1/functions/opr-to-delete')).status).toBe(404);
  }, 60_000);

  it('6: an execution of a missing runtime is 404 without image and source, a cold start with them', async () => {
    const missing = await e.call('POST', '/runtimes/cold/executions', {});
    expect(missing.status).toBe(404);
    expect((missing.json as { message: string }).message).toBe(
      'Runtime not found. Please start it first or provide runtime-related parameters.',
    );
    const cold = await e.call(
      'POST',
      '/runtimes/cold/executions',
      {
        source: '/storage/functions/slowstart/code.tar.gz',
        entrypoint: 'index.js',
        image: NODE_IMAGE,
        runtimeEntrypoint: START,
      },
      { headers: JSON_ACCEPT },
    );
    expect(cold.status, cold.text).toBe(200);
    const outcome = cold.json as Outcome;
    expect(outcome.statusCode).toBe(200);
    // the module's 3 s load is part of the duration
    expect(outcome.duration).toBeGreaterThanOrEqual(3);
    expect((await e.call('DELETE', '/runtimes/cold')).status).toBe(200);
    // a runtime not ready within the execution's timeout: 400 runtime_timeout, and it goes on starting
    const late = await e.call('POST', '/runtimes/cold-late/executions', {
      source: '/storage/functions/slowstart/code.tar.gz',
      image: NODE_IMAGE,
      timeout: 1,
    });
    expect(late.status).toBe(400);
    expect(late.json).toMatchObject({ type: 'runtime_timeout', message: 'Timed out waiting for runtime.' });
    await waitUntil(
      'the late runtime to be up',
      async () => (await e.call('GET', '/runtimes/cold-late')).status === 200,
    );
    expect((await execute('cold-late', { path: '/' })).statusCode).toBe(200);
    expect((await e.call('DELETE', '/runtimes/cold-late')).status).toBe(200);
    // code slower to load than the platform's default start timeout (10 s) still starts
    const slow = await e.call(
      'POST',
      '/runtimes/cold-slow/executions',
      {
        source: '/storage/functions/slowstart/code.tar.gz',
        image: NODE_IMAGE,
        timeout: 30,
        variables: { LOAD_MS: '11000' },
      },
      { headers: JSON_ACCEPT },
    );
    expect(slow.json).toMatchObject({ statusCode: 200 });
    expect((slow.json as Outcome).duration).toBeGreaterThan(11);
    expect((await e.call('DELETE', '/runtimes/cold-slow')).status).toBe(200);
  }, 60_000);

  for (const id of ['node', 'py']) {
    describe(`${id === 'node' ? 'Node' : 'Python'} function`, () => {
      it('7: JSON with Accept application/json (also application/* in a list), else multipart', async () => {
        for (const accept of ['application/json', 'application/*', 'text/plain, application/json']) {
          const res = await e.call('POST', `/runtimes/${id}/executions`, {}, { headers: { accept } });
          expect(res.headers.get('content-type')).toBe('application/json');
          const outcome = res.json as Record<string, unknown>;
          expect(Object.keys(outcome)).toEqual([
            'statusCode',
            'headers',
            'body',
            'logs',
            'errors',
            'duration',
            'startTime',
          ]);
          expect(outcome['statusCode']).toBe(200);
          expect(JSON.parse(String(outcome['body']))).toMatchObject({
            message: 'Hello Open Runtimes 👋',
            built: id === 'node' ? 'npm run build' : 'python3 build.py',
            ...(id === 'py' ? { dependency: 'hello or from skiffdemo' } : {}),
          });
        }
        for (const headers of [
          {},
          { accept: 'application/xml' },
          { accept: '*/*' },
          { accept: 'text/plain' },
        ]) {
          const res = await e.call('POST', `/runtimes/${id}/executions`, { path: '/logs' }, { headers });
          expect(res.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
          const fields = await multipartFields(res);
          expect(fields['statusCode']?.toString()).toBe('200');
          expect(JSON.parse(fields['headers']?.toString() ?? 'null')).toEqual({
            'content-type': 'text/plain; charset=utf-8',
          });
          expect(fields['body']?.toString()).toBe('OK');
          expect(fields['logs']?.toString()).toContain('first log');
          expect(fields['errors']?.toString()).toContain('first error');
        }
      });

      it('8: a binary reply is 400 execution_bad_json as JSON and intact as multipart', async () => {
        const json = await e.call(
          'POST',
          `/runtimes/${id}/executions`,
          { path: '/binary' },
          { headers: JSON_ACCEPT },
        );
        expect(json.status).toBe(400);
        expect(json.json).toMatchObject({ type: 'execution_bad_json' });
        expect((json.json as { message: string }).message).toContain('JSON response does not allow binaries');
        const multipart = await e.call(
          'POST',
          `/runtimes/${id}/executions`,
          { path: '/binary' },
          { multipart: true },
        );
        const fields = await multipartFields(multipart);
        expect([...(fields['body'] ?? [])]).toEqual([0, 10, 255]);
      });

      it('10: a path without / gets one, HEAD has no body, a body "0" arrives', async () => {
        const seen = await execute(id, { path: 'req?x=1', method: 'POST', body: '0' });
        const req = JSON.parse(seen.body) as {
          path: string;
          body: string;
          method: string;
          query: Record<string, string>;
        };
        expect(req).toMatchObject({ path: '/req', body: '0', method: 'POST', query: { x: '1' } });
        const head = await execute(id, { path: '/req', method: 'HEAD' });
        expect(head.statusCode).toBe(200);
        expect(head.body).toBe('');
        // multipart parameters with a binary body arrive intact
        const res = await e.call(
          'POST',
          `/runtimes/${id}/executions`,
          { path: '/req', method: 'PUT', body: 'multi part body', headers: { 'x-demo': 'yes' } },
          { multipart: true, headers: JSON_ACCEPT },
        );
        const viaForm = JSON.parse((res.json as Outcome).body) as {
          body: string;
          headers: Record<string, string>;
        };
        expect(viaForm.body).toBe('multi part body');
        expect(viaForm.headers['x-demo']).toBe('yes');
      });

      it('11: a throw is statusCode 500 with an empty body and the stack in errors; a missing return is 500', async () => {
        const thrown = await execute(id, { path: '/throw' });
        expect(thrown.statusCode).toBe(500);
        expect(thrown.body).toBe('');
        expect(thrown.errors).toMatch(/open runtimes says no|or says no/);
        expect(thrown.logs).toContain('before the');
        const nothing = await execute(id, { path: '/nothing' });
        expect(nothing.statusCode).toBe(500);
        expect(nothing.body).toBe('');
        expect(nothing.errors).toContain('Return statement missing.');
      });

      it('12: past its timeout a run is statusCode 500 "Execution timed out." and keeps its earlier logs', async () => {
        const outcome = await execute(id, { path: '/slow?ms=3000', timeout: 1 });
        expect(outcome.statusCode).toBe(500);
        expect(outcome.body).toBe('');
        expect(outcome.errors).toContain('Execution timed out.');
        expect(outcome.logs).toContain('started slow');
        expect(outcome.duration).toBeLessThan(3);
      }, 30_000);

      it('16: a JSON body: empty is {} in body but bodyJson throws; invalid throws; {} echoes', async () => {
        const json = { 'content-type': 'application/json' };
        const empty = await execute(id, { path: '/json-body', method: 'POST', headers: json, body: '' });
        expect(empty.statusCode).toBe(200);
        expect(JSON.parse(empty.body)).toEqual({ body: {} });
        expect(
          (await execute(id, { path: '/body-json', method: 'POST', headers: json, body: '' })).statusCode,
        ).toBe(500);
        expect(
          (await execute(id, { path: '/json-body', method: 'POST', headers: json, body: '{x' })).statusCode,
        ).toBe(500);
        const object = await execute(id, { path: '/json-body', method: 'POST', headers: json, body: '{}' });
        expect(object.statusCode).toBe(200);
        expect(JSON.parse(object.body)).toEqual({ body: {} });
      });

      it('20: timeout 5 with a 4 s run succeeds; the environment holds CPUS, MEMORY and CI', async () => {
        const outcome = await execute(id, { path: '/slow?ms=4000', timeout: 5 });
        expect(outcome.statusCode).toBe(200);
        expect(outcome.body).toBe('slow done');
        const env = JSON.parse((await execute(id, { path: '/env' })).body) as Record<string, string>;
        expect(env).toMatchObject({ cpus: '1', memory: '512', ci: 'true' });
      }, 30_000);
    });
  }

  it('9: two set-cookie headers are an array with format 0.11.0, the last value before', async () => {
    const old = await execute('node', { path: '/cookies' });
    expect(old.headers['set-cookie']).toBe('b=2; HttpOnly');
    const res = await e.call(
      'POST',
      '/runtimes/node/executions',
      { path: '/cookies' },
      { headers: { ...JSON_ACCEPT, 'x-executor-response-format': '0.11.0' } },
    );
    expect((res.json as Outcome).headers['set-cookie']).toEqual(['a=1; HttpOnly', 'b=2; HttpOnly']);
  });

  it('11: code without its export, or without its entrypoint, answers 503', async () => {
    const noExport = await e.call(
      'POST',
      '/runtimes/noexport/executions',
      { source: '/storage/functions/noexport/code.tar.gz', image: NODE_IMAGE, entrypoint: 'index.js' },
      { headers: JSON_ACCEPT },
    );
    expect(noExport.status, noExport.text).toBe(200);
    expect(noExport.json).toMatchObject({ statusCode: 503, body: '' });
    expect((noExport.json as Outcome).errors).toContain(
      "Function signature invalid. Did you forget to export a 'main' function?",
    );
    const noEntry = await e.call(
      'POST',
      '/runtimes/noentry/executions',
      { source: '/storage/functions/noexport/code.tar.gz', image: NODE_IMAGE, entrypoint: 'missing.js' },
      { headers: JSON_ACCEPT },
    );
    expect(noEntry.json).toMatchObject({ statusCode: 503 });
    expect((noEntry.json as Outcome).errors).toContain(
      'Failed to load entrypoint, file missing.js does not exist.',
    );
    const noMain = await e.call(
      'POST',
      '/runtimes/nomain/executions',
      { source: '/storage/functions/nomain/code.tar.gz', image: PYTHON_IMAGE, entrypoint: 'main.py' },
      { headers: JSON_ACCEPT },
    );
    expect(noMain.json).toMatchObject({ statusCode: 503, body: '' });
    expect((noMain.json as Outcome).errors).toContain(
      "Function signature invalid. Did you forget to export a 'main' function?",
    );
  }, 60_000);

  it('13: logs cap at 5 MiB with the suffix; logging false logs nothing; long lines are cut', async () => {
    const big = await execute('node', { path: '/big-logs?mib=6', timeout: 60 });
    expect(big.logs.length).toBeGreaterThan(5 * 1024 * 1024);
    expect(big.logs.length).toBeLessThan(6 * 1024 * 1024);
    expect(big.logs.endsWith('\nLog file has been truncated to 5.00MB.')).toBe(true);
    const quiet = await execute('node', { path: '/logs', logging: false });
    expect(quiet.body).toBe('OK');
    expect(quiet.logs).toBe('');
    expect(quiet.errors).toBe('');
    const long = await execute('node', { path: '/long-line' });
    expect(long.logs).toContain(`${'y'.repeat(8000)}... Log truncated due to size limit (8000 characters)`);
    const native = await execute('node', { path: '/native' });
    expect(native.logs).toBe(
      'Native logs detected. Use context.log() or context.error() for better experience.\nnative one\nnative two\n',
    );
  }, 60_000);

  it('14: content types as upstream sends them', async () => {
    const type = async (route: string, headers: Record<string, string> = {}): Promise<Outcome> =>
      execute('node', { path: route, headers });
    expect((await type('/logs')).headers['content-type']).toBe('text/plain; charset=utf-8');
    const json = await type('/json');
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.body).toBe('{"a":1,"b":[1,2]}');
    expect((await type('/empty')).statusCode).toBe(204);
    const redirect = await type('/redirect');
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers['location']).toBe('https://example.com/next');
    for (const [given, sent] of [
      ['text/plain; charset=iso-8859-1', 'text/plain; charset=iso-8859-1'],
      ['multipart/form-data; boundary=x', 'multipart/form-data; boundary=x'],
      ['TEXT/HTML; charset=UTF-8', 'text/html; charset=utf-8'],
    ] as const) {
      expect((await type('/ctype', { 'x-type': given })).headers['content-type']).toBe(sent);
    }
  });

  it('15: the URL parts a function sees', async () => {
    for (const id of ['node', 'py']) {
      const seen = JSON.parse(
        (
          await execute(id, {
            path: '/req?c=d&e=f',
            headers: { 'x-forwarded-proto': 'https', host: 'h:3001' },
          })
        ).body,
      ) as { url: string; port: number; query: Record<string, string> };
      expect(seen.url).toBe('https://h:3001/req?c=d&e=f');
      expect(seen.port).toBe(3001);
      expect(seen.query).toEqual({ c: 'd', e: 'f' });
      const bare = JSON.parse((await execute(id, { path: '/req?h' })).body) as {
        query: Record<string, string>;
      };
      expect(bare.query).toEqual({ h: '' });
      const equals = JSON.parse((await execute(id, { path: '/req?a=b=c' })).body) as {
        query: Record<string, string>;
      };
      expect(equals.query).toEqual({ a: 'b=c' });
    }
  });

  it('17: the runtime checks its secret and timeout header; /__opr/health answers OK', async () => {
    // the runtime is the function opr-node; its secret is the executor's, never returned
    const call = (route: string, headers: Record<string, string>) =>
      e.p.call(`/opr-node${route}`, { headers });
    for (const secret of [undefined, '', 'wrong']) {
      const res = await call('/logs', secret === undefined ? {} : { 'x-open-runtimes-secret': secret });
      expect(res.status).toBe(500);
      expect(await res.text()).toContain('Unauthorized');
    }
    const health = await call('/__opr/health', {});
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('OK');
    // a runtime without a secret lets anything pass
    await deployCopy('or-open', {});
    const passes = await e.p.call('/or-open/logs', { headers: { 'x-open-runtimes-secret': 'anything' } });
    expect(passes.status).toBe(200);
    const badTimeout = await e.p.call('/or-open/logs', { headers: { 'x-open-runtimes-timeout': 'abcd' } });
    expect(badTimeout.status).toBe(500);
    expect(await badTimeout.text()).toContain(
      'Header "x-open-runtimes-timeout" must be an integer greater than 0.',
    );
  }, 60_000);

  it('18: log ids, runtime headers never reaching callers, OPEN_RUNTIMES_HEADERS', async () => {
    const res = await e.p.call('/or-open/logs');
    expect(res.headers.get('x-open-runtimes-log-id')).toMatch(/^[0-9a-f]{20}$/);
    const own = await execute('node', { path: '/own-header' });
    expect(Object.keys(own.headers).filter((name) => name.startsWith('x-open-runtimes-'))).toEqual([]);
    expect(own.headers['x-kept']).toBe('1');
    await deployCopy('or-dev', { OPEN_RUNTIMES_ENV: 'development' });
    expect((await e.p.call('/or-dev/logs')).headers.get('x-open-runtimes-log-id')).toBe('dev');
    const given = await e.p.call('/or-open/logs', { headers: { 'x-open-runtimes-log-id': 'given-id' } });
    expect(given.headers.get('x-open-runtimes-log-id')).toBe('given-id');
    const disabled = await e.p.call('/or-open/logs', { headers: { 'x-open-runtimes-logging': 'disabled' } });
    expect(disabled.headers.get('x-open-runtimes-log-id')).toBe('');
    const ownViaGateway = await e.p.call('/or-open/own-header');
    expect(ownViaGateway.headers.get('x-open-runtimes-foo')).toBeNull();
    expect(ownViaGateway.headers.get('x-open-runtimes-log-id')).not.toBe('mine');
    const made = await e.call('POST', '/runtimes', {
      runtimeId: 'dev',
      source: artifacts['node'],
      image: NODE_IMAGE,
      variables: {
        OPEN_RUNTIMES_ENV: 'development',
        OPEN_RUNTIMES_HEADERS: '{"x-client":"forced"}',
        customVariable: 7,
      },
    });
    expect(made.status, made.text).toBe(201);
    const seen = JSON.parse(
      (await execute('dev', { path: '/req', headers: { 'x-client': 'original' } })).body,
    ) as {
      headers: Record<string, string>;
    };
    expect(seen.headers['x-client']).toBe('forced');
    const env = JSON.parse((await execute('dev', { path: '/env' })).body) as {
      custom: string;
      secretLength: number;
    };
    expect(env).toMatchObject({ custom: '7', secretLength: 32 });
    const devId = await e.p.call('/opr-dev/logs', {
      headers: { 'x-open-runtimes-secret': 'unknown to the client' },
    });
    expect(devId.status).toBe(500);
  }, 60_000);

  it('streams a build log while the runtime is created, lines as upstream writes them', async () => {
    const streamed = fetch(`${e.base}/runtimes/streamed/logs`, {
      headers: { authorization: `Bearer ${SECRET}` },
    }).then(async (res) => ({
      status: res.status,
      type: res.headers.get('content-type'),
      text: await res.text(),
    }));
    // the stream is asked first, as upstream's test does; the creation comes after
    await quietFor(200, 'the stream request reaches the executor before the creation');
    const made = await e.call('POST', '/runtimes', {
      runtimeId: 'streamed',
      source: '/storage/functions/node/code.tar.gz',
      image: NODE_IMAGE,
      command: build('npm install && npm run build'),
      remove: true,
    });
    expect(made.status, made.text).toBe(201);
    const stream = await streamed;
    expect(stream.status).toBe(200);
    expect(stream.type).toBe('text/event-stream');
    const lines = stream.text.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 \S/);
    const content = lines.map((line) => line.slice(line.indexOf(' ') + 1)).join('');
    expect(content).toContain('Environment preparation started.');
    expect(content).toContain('Step: building');
    expect(content).toContain('Build finished.');
    // a runtime with no build going on: the stream ends at once; an id nobody makes: 504 at the timeout
    const done = await e.call('GET', '/runtimes/node/logs');
    expect(done.status).toBe(200);
    expect(done.text).toBe('');
    const never = await e.call('GET', '/runtimes/never-made/logs', { timeout: '1' });
    expect(never.status).toBe(504);
    expect(never.json).toMatchObject({ type: 'logs_timeout' });
  }, 60_000);

  it('commands run in the runtime sandbox over its code; a failure is 500 command_failed', async () => {
    const ok = await e.call('POST', '/runtimes/node/commands', { command: 'cat built.json && echo "$CI"' });
    expect(ok.status, ok.text).toBe(200);
    expect((ok.json as { output: string }).output).toBe('{"by":"npm run build"}true\n');
    const failed = await e.call('POST', '/runtimes/node/commands', { command: 'echo nope >&2; exit 3' });
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({ type: 'command_failed' });
    const slow = await e.call('POST', '/runtimes/node/commands', { command: 'sleep 5', timeout: 1 });
    expect(slow.status).toBe(500);
    expect(slow.json).toMatchObject({ type: 'command_timeout', message: 'Operation timed out.' });
  }, 30_000);
});
