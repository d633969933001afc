/**
 * The Open Runtimes executor API (compat.openruntimes) driven as upstream's executor clients drive it:
 * real HTTP with JSON and multipart parameters, real function folders packed as tar.gz into the
 * executor's storage, builds in the build sandbox, executions of Node functions written for upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { FIXTURES } from './helpers/platform.js';
import { multipartFields, startExecutor, type ExecutorPlatform } from './openruntimes/executor-client.js';

const NODE = path.join(FIXTURES, 'openruntimes', 'node-exec');
const IMAGE = 'openruntimes/node:v5-22';
const BUILD =
  'tar -zxf /tmp/code.tar.gz -C /mnt/code && bash helpers/build.sh "npm install && npm run build"';
const START = 'cp /tmp/code.tar.gz /mnt/code/code.tar.gz && nohup helpers/start.sh "bash helpers/server.sh"';

describe('Open Runtimes executor API', () => {
  let e: ExecutorPlatform;
  let buildPath = '';

  beforeAll(async () => {
    e = await startExecutor();
    e.store(NODE, '/storage/functions/node/code.tar.gz');
  }, 60_000);

  afterAll(async () => {
    await e?.stop();
  });

  it('answers health without a key, with Server: Executor', async () => {
    const res = await e.call('GET', '/health', {}, { auth: null });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK');
    expect(res.headers.get('server')).toBe('Executor');
  });

  it('builds a Node function with its build command and stores the artifact', async () => {
    const res = await e.call('POST', '/runtimes', {
      runtimeId: 'build-node',
      source: '/storage/functions/node/code.tar.gz',
      destination: '/storage/builds/test',
      entrypoint: 'index.js',
      image: IMAGE,
      command: BUILD,
      remove: true,
    });
    expect(res.status, res.text).toBe(201);
    const body = res.json as {
      output: { timestamp: string; content: string }[];
      path: string;
      size: number;
      duration: number;
      startTime: number;
    };
    const output = body.output.map((o) => o.content).join('');
    expect(output).toContain('Build step done');
    expect(body.output[0]?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(body.path).toMatch(/^\/storage\/builds\/test\/[0-9a-f]+\.tar\.gz$/);
    expect(statSync(path.join(e.root, body.path)).size).toBe(body.size);
    buildPath = body.path;
    const list = await e.call('GET', '/runtimes');
    expect(list.json).toEqual([]);
  }, 120_000);

  it('executes on a cold start from the built artifact', async () => {
    const res = await e.call(
      'POST',
      '/runtimes/exec-node/executions',
      {
        source: buildPath,
        entrypoint: 'index.js',
        image: IMAGE,
        runtimeEntrypoint: START,
      },
      { headers: { accept: 'application/json' } },
    );
    expect(res.status, res.text).toBe(200);
    const body = res.json as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'statusCode',
      'headers',
      'body',
      'logs',
      'errors',
      'duration',
      'startTime',
    ]);
    expect(body['statusCode']).toBe(200);
    expect(JSON.parse(body['body'] as string)).toEqual({
      message: 'Hello Open Runtimes 👋',
      built: 'npm run build',
    });
  }, 120_000);

  it('answers multipart without Accept', async () => {
    const res = await e.call('POST', '/runtimes/exec-node/executions', { path: 'logs' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    const fields = await multipartFields(res);
    expect(fields['statusCode']?.toString()).toBe('200');
    expect(JSON.parse(fields['headers']?.toString() ?? '')).toEqual({
      'content-type': 'text/plain; charset=utf-8',
    });
    expect(fields['logs']?.toString()).toContain('first log');
    expect(fields['errors']?.toString()).toContain('first error');
    void existsSync;
  }, 60_000);
});
