import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform, fixture } from './helpers/platform.js';
import { waitFor, waitUntil } from './helpers/wait.js';

const MiB = 1024 * 1024;

/** Host pids of live (not zombie) processes whose command line is `sleep <seconds>` or runs fn.sh. */
function sleepers(seconds: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const zombie = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
      if (
        !zombie &&
        (cmdline === `sleep ${seconds}` || (cmdline.includes('/bin-sleep/') && cmdline.endsWith('/fn.sh')))
      )
        found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

interface LogLine {
  message: string;
  invocationId?: string;
  stream?: string;
}

describe('binary runtime', () => {
  let p: TestPlatform;

  const logsOf = async (name: string): Promise<LogLine[]> =>
    ((await (await p.api(`/v1/functions/${name}/logs?limit=1000`)).json()) as { logs: LogLine[] }).logs;

  /** Waits until a log line matching `pattern` (of the given invocation) shows up. */
  const waitForLog = async (
    name: string,
    pattern: RegExp,
    invocationId?: string | null,
  ): Promise<LogLine> => {
    return waitFor(
      `a log line matching ${pattern} for ${name}`,
      async () =>
        (await logsOf(name)).find(
          (l) => pattern.test(l.message) && (invocationId === undefined || l.invocationId === invocationId),
        ),
      2_000,
    );
  };

  beforeAll(async () => {
    p = await startPlatform({ config: { http: { maxBodyBytes: 2 * MiB } } });
    await p.deployAll({
      'bin-echo': 'bin-echo',
      'bin-status': 'bin-status',
      'bin-fail': 'bin-fail',
      'bin-sleep': 'bin-sleep',
    });
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('round-trips a text body through stdin and stdout', async () => {
    const res = await p.call('/bin-echo', { method: 'POST', body: 'hello, binary' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(await res.text()).toBe('hello, binary');
  });

  it('starts runs through the spawner once it is up, not by forking the bridge', async () => {
    const parent = await waitFor('a run started by the spawner', async () => {
      const res = await p.call('/bin-echo', { method: 'POST', body: 'x' });
      const name = res.headers.get('x-parent');
      return name === 'python3' ? name : undefined;
    });
    expect(parent).toBe('python3');
  });

  it('round-trips random binary bytes unchanged', async () => {
    const bytes = randomBytes(MiB + 17);
    const res = await p.call('/bin-echo/binary', { method: 'PUT', body: bytes });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('passes method, path, query, headers, env and ctx variables to the program', async () => {
    const res = await p.call('/bin-echo/a/b%20c?x=1&y=two', {
      method: 'PATCH',
      headers: { 'x-custom': 'value 1', 'content-type': 'text/plain', proxy: 'http://evil.example' },
      body: 'payload',
    });
    expect(res.status).toBe(200);
    const invocationId = res.headers.get('x-skiff-invocation-id');
    expect(invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('x-')))).toMatchObject({
      'x-method': 'PATCH',
      'x-path': '/a/b%20c',
      'x-query': 'x=1&y=two',
      'x-custom': 'value 1',
      'x-content-type': 'text/plain',
      'x-content-length': '7',
      'x-function': 'bin-echo',
      'x-version': '1',
      'x-invocation': invocationId,
      'x-greeting': 'hello from env',
      // httpoxy: a `Proxy` request header never becomes HTTP_PROXY
      'x-proxy': 'unset',
    });
    const deadline = Number(res.headers.get('x-deadline'));
    expect(deadline).toBeGreaterThan(Date.now());
    expect(await res.text()).toBe('payload');
    // stderr goes to the function's logs, tied to the invocation
    const line = await waitForLog('bin-echo', /echo-marker PATCH \/a\/b%20c/);
    expect(line.invocationId).toBe(invocationId);
  });

  it('takes status and headers from the headers file; the build made the file executable', async () => {
    const res = await p.call('/bin-status');
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.text()).toBe('made');
  });

  it('answers 500 SKIFF_E_FUNCTION_ERROR on a non-zero exit; the code and stderr go to the logs', async () => {
    const res = await p.call('/bin-fail');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      error: { code: 'SKIFF_E_FUNCTION_ERROR', message: 'the function exited with code 3; see its logs' },
    });
    expect(text).not.toContain('failure-marker-4411');
    expect(text).not.toContain('partial output');
    const invocationId = res.headers.get('x-skiff-invocation-id');
    const stderr = await waitForLog('bin-fail', /failure-marker-4411/);
    expect(stderr.invocationId).toBe(invocationId);
    const exit = await waitForLog('bin-fail', /fn\.sh exited with code 3/);
    expect(exit.invocationId).toBe(invocationId);
    // the instance survives
    expect((await p.call('/bin-echo', { method: 'POST', body: 'x' })).status).toBe(200);
  });

  it('runs concurrent invocations concurrently', async () => {
    await p.call('/bin-sleep?0'); // warm
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => p.call('/bin-sleep?0.5').then(async (r) => [r.status, await r.text()])),
    );
    const elapsed = Date.now() - started;
    expect(results).toEqual(Array.from({ length: 4 }, () => [200, 'slept 0.5']));
    expect(elapsed).toBeLessThan(1500);
  });

  it('answers 504 at the timeout and kills the program and its children', async () => {
    const res = await p.call('/bin-sleep?30');
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_TIMEOUT' } });
    const invocationId = res.headers.get('x-skiff-invocation-id');
    await waitForLog('bin-sleep', /sleeper pid=\d+ child=\d+/, invocationId);
    // the pids in the log are the sandbox's own; on the host, look for the program and its child
    await waitUntil('the program and its child to be gone', () => sleepers('30').length === 0, 3_000);
    expect(sleepers('30')).toEqual([]);
    // the instance keeps serving
    const next = await p.call('/bin-sleep?0');
    expect(next.status).toBe(200);
  });

  it('refuses a deploy without an executable, naming what it looked for', async () => {
    const res = await p.deploy('bin-missing', fixture('custom-py'), '?runtime=binary');
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SKIFF_E_HANDLER_NOT_FOUND');
    expect(body.error.message).toContain('fn, fn.sh');
  });

  it.each([
    ['#!/bin/sh', /fn\.sh:5: Syntax error: end of file unexpected \(expecting "fi"\)/],
    ['#!/usr/bin/env bash', /fn\.sh:5: syntax error: unexpected end of file/],
  ])(
    'fails the deploy of a %s script that cannot parse, naming file and line; the live version keeps serving',
    async (shebang, expected) => {
      const root = await makeDataDir();
      try {
        const dir = path.join(root, 'bad-sh');
        await mkdir(dir);
        await writeFile(path.join(dir, 'fn.sh'), `${shebang}\nif true; then\n  echo hi\n\n`, { mode: 0o755 });
        const res = await p.deploy('bin-echo', dir);
        expect(res.status).toBe(422);
        const body = (await res.json()) as {
          error: { code: string; message: string; details: { buildLog: string } };
        };
        expect(body.error.code).toBe('SKIFF_E_BUILD_FAILED');
        expect(body.error.message).toMatch(expected);
        expect(body.error.details.buildLog).toMatch(expected);
        expect((await p.call('/bin-echo', { method: 'POST', body: 'still' })).status).toBe(200);
      } finally {
        await removeDir(root);
      }
    },
  );
});
