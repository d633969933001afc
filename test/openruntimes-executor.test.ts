/**
 * The Open Runtimes executor API (compat.openruntimes) driven as upstream's executor clients drive it:
 * real HTTP with JSON and multipart parameters, real function folders written for upstream packed as
 * tar.gz into the executor's storage, builds in the build sandbox. The numbers in the test names are
 * the points of the acceptance list in docs/compat/openruntimes.md. This file: runtimes (create, build, list, delete, cold starts), the runtime's own rules, build logs and commands; executions in openruntimes-executions.test.ts.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietFor, waitUntil } from './helpers/wait.js';
import { SECRET, type ExecutorPlatform } from './openruntimes/executor-client.js';
import {
  JSON_ACCEPT,
  NODE_IMAGE,
  PYTHON_IMAGE,
  START,
  build,
  prepareExecutor,
  type Outcome,
  type PreparedExecutor,
} from './openruntimes/executor-setup.js';

describe('Open Runtimes executor API: runtimes', () => {
  let e: ExecutorPlatform;
  let artifacts: Record<string, string>;
  let execute: PreparedExecutor['execute'];
  let deployCopy: PreparedExecutor['deployCopy'];
  let prepared: PreparedExecutor | undefined;

  beforeAll(async () => {
    prepared = await prepareExecutor();
    ({ e, artifacts, execute, deployCopy } = prepared);
  }, 180_000);

  afterAll(async () => {
    await prepared?.stop();
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
