/**
 * The Open Runtimes executor API against the scenarios upstream's own end-to-end tests drive an
 * executor through (build commands that chain steps, uncompressed builds, logs of exact sizes, the
 * runtime's limits in its environment, runtimes without code for commands), with our own function
 * folder (test/fixtures/openruntimes/node-scenarios) and a client that talks as upstream's does.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/platform.js';
import { SECRET, startExecutor, type ExecutorPlatform } from './openruntimes/executor-client.js';

const NODE_IMAGE = 'openruntimes/node:v5-22';
const SOURCE = '/storage/functions/scenarios/code.tar.gz';
const build = (install: string): string =>
  `tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh "${install}"`;
const START = 'cp /tmp/code.tar.gz /mnt/code/code.tar.gz && nohup helpers/start.sh "bash helpers/server.sh"';
const JSON_ACCEPT = { accept: 'application/json', 'x-executor-response-format': '0.11.0' };
const MiB = 1024 * 1024;

interface Outcome {
  statusCode: number;
  body: string;
  logs: string;
  errors: string;
}

describe('Open Runtimes executor: upstream scenarios', () => {
  let e: ExecutorPlatform;
  let artifact = '';

  const execute = async (id: string, params: Record<string, unknown>): Promise<Outcome> => {
    const res = await e.call('POST', `/runtimes/${id}/executions`, params, { headers: JSON_ACCEPT });
    expect(res.status, res.text.slice(0, 500)).toBe(200);
    return res.json as Outcome;
  };

  beforeAll(async () => {
    e = await startExecutor();
    e.store(path.join(FIXTURES, 'openruntimes', 'node-scenarios'), SOURCE);
    const made = await e.call('POST', '/runtimes', {
      runtimeId: 'scenarios-build',
      source: SOURCE,
      destination: '/storage/builds/scenarios',
      entrypoint: 'index.js',
      image: NODE_IMAGE,
      command: build('npm install'),
      remove: true,
    });
    if (made.status !== 201) throw new Error(`build: ${made.status} ${made.text}`);
    artifact = (made.json as { path: string }).path;
    const started = await e.call('POST', '/runtimes', {
      runtimeId: 'scenarios',
      source: artifact,
      entrypoint: 'index.js',
      image: NODE_IMAGE,
      runtimeEntrypoint: START,
      cpus: 1.5,
      memory: 256,
    });
    if (started.status !== 201) throw new Error(`start: ${started.status} ${started.text}`);
  }, 120_000);

  afterAll(async () => {
    await e?.stop();
  });

  it('a step chained after helpers/build.sh runs after the install and sees OPEN_RUNTIMES_BUILD_KEYS', async () => {
    const made = await e.call('POST', '/runtimes', {
      runtimeId: 'chained',
      source: SOURCE,
      destination: '/storage/builds/chained',
      image: NODE_IMAGE,
      command: `${build('npm install && npm run build')} && echo "keys=$OPEN_RUNTIMES_BUILD_KEYS"`,
      variables: { GREETING: 'hi', OPEN_RUNTIMES_BUILD_COMPRESSION: 'none' },
      cpus: 1.5,
      memory: 256,
      remove: true,
    });
    expect(made.status, made.text).toBe(201);
    const body = made.json as { output: { content: string }[]; path: string };
    const output = body.output.map((entry) => entry.content).join('');
    expect(output).toContain('limits cpus=1.5 memory=256\n');
    expect(output).toContain('keys=GREETING\n');
    expect(output.indexOf('keys=')).toBeGreaterThan(output.indexOf('limits cpus='));
    // OPEN_RUNTIMES_BUILD_COMPRESSION=none: the artifact is a plain tar
    expect(body.path).toMatch(/\.tar$/);

    // the chain runs on the install's exit status, as on upstream's build.sh's
    const failed = await e.call('POST', '/runtimes', {
      runtimeId: 'chained-fails',
      source: SOURCE,
      image: NODE_IMAGE,
      command: `${build('echo installing && exit 3')} && echo never-printed`,
      remove: true,
    });
    expect(failed.status).toBe(400);
    const error = failed.json as { type: string; message: string };
    expect(error.type).toBe('build_failed');
    expect(error.message).toContain('installing');
    expect(error.message).not.toContain('never-printed');
    expect(error.message.endsWith('Build command exited with code 3.')).toBe(true);
  }, 60_000);

  it('an uncompressed artifact starts a runtime on its first execution (x-executor-key auth)', async () => {
    const made = await e.call('POST', '/runtimes', {
      runtimeId: 'plain-build',
      source: SOURCE,
      destination: '/storage/builds/plain',
      image: NODE_IMAGE,
      command: build('npm install'),
      variables: { OPEN_RUNTIMES_BUILD_COMPRESSION: 'none' },
      remove: true,
    });
    expect(made.status, made.text).toBe(201);
    const plain = (made.json as { path: string }).path;
    expect(plain).toMatch(/\.tar$/);
    const res = await e.call(
      'POST',
      '/runtimes/plain/executions',
      {
        source: plain,
        entrypoint: 'index.js',
        image: NODE_IMAGE,
        runtimeEntrypoint: START,
        variables: { GREETING: 'from variables' },
        path: '/some/where?x=1',
        headers: { host: 'example.test', 'x-forwarded-proto': 'https' },
      },
      { auth: null, headers: { ...JSON_ACCEPT, 'x-executor-key': SECRET } },
    );
    expect(res.status, res.text).toBe(200);
    const outcome = res.json as Outcome;
    expect(outcome.statusCode).toBe(200);
    expect(JSON.parse(outcome.body)).toEqual({
      hello: 'https://example.test/some/where?x=1',
      greeting: 'from variables',
    });
    expect(outcome.logs).toBe('hello called\n');
    expect(outcome.errors).toBe('');
  }, 60_000);

  it('logs of exactly 1 MiB and 5 MiB come whole; more is cut to 5 MiB and says so', async () => {
    for (const mib of [1, 5]) {
      const outcome = await execute('scenarios', { path: '/log-mib', body: String(mib) });
      expect(outcome.body).toBe('logged');
      expect(Buffer.byteLength(outcome.logs)).toBe(mib * MiB);
      expect(outcome.errors).toBe('');
    }
    const over = await execute('scenarios', { path: '/log-mib', body: '6' });
    expect(Buffer.byteLength(over.logs)).toBeGreaterThan(5 * MiB);
    expect(Buffer.byteLength(over.logs)).toBeLessThan(6 * MiB);
    expect(over.logs).toContain('truncated');
    const quiet = await execute('scenarios', { path: '/log-mib', body: '1', logging: false });
    expect([quiet.body, quiet.logs, quiet.errors]).toEqual(['logged', '', '']);
  }, 60_000);

  it("the runtime's cpus and memory are in its environment as upstream writes them", async () => {
    const outcome = await execute('scenarios', { path: '/limits' });
    expect(JSON.parse(outcome.body)).toEqual({ cpus: '1.5', memory: '256' });
  });

  it('a runtime made without source answers executions 503 and runs commands', async () => {
    const made = await e.call('POST', '/runtimes', {
      runtimeId: 'no-source',
      image: NODE_IMAGE,
      entrypoint: 'tail -f /dev/null',
    });
    expect(made.status, made.text).toBe(201);
    const outcome = await execute('no-source', {});
    expect(outcome.statusCode).toBe(503);
    expect(outcome.errors).toContain('Failed to load entrypoint');
    const echo = await e.call('POST', '/runtimes/no-source/commands', { command: 'echo "hello there"' });
    expect(echo.status, echo.text).toBe(200);
    expect(echo.json).toEqual({ output: 'hello there\n' });
    const failed = await e.call('POST', '/runtimes/no-source/commands', { command: 'exit 1' });
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({
      type: 'command_failed',
      message: 'Failed to execute command: command exited with code 1.',
    });
    expect((await e.call('DELETE', '/runtimes/no-source')).status).toBe(200);
    expect((await e.call('DELETE', '/runtimes/no-source')).status).toBe(404);
    expect((await e.call('POST', '/runtimes/no-source/commands', { command: 'true' })).status).toBe(404);
  }, 60_000);
});
