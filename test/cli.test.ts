import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform, fixture } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

import { cleanEnv, runCli } from './helpers/cli.js';

describe('skiff CLI against a running platform', () => {
  let p: TestPlatform;
  let env: NodeJS.ProcessEnv;
  let scratch: string;
  const cli = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    p = await startPlatform();
    env = cleanEnv({ SKIFF_HOME: p.dataDir });
    scratch = await makeDataDir();
  });

  afterAll(async () => {
    await p?.stop();
    if (p) await removeDir(p.dataDir);
    if (scratch) await removeDir(scratch);
  });

  it('deploys a folder and prints the version and a curl line', async () => {
    const r = await cli('fn', 'deploy', fixture('echo-cjs'), '--name', 'cli-echo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^✔ Deployed cli-echo version 1 \([0-9a-f]{12}\) in \d+\.\ds$/m);
    expect(r.stdout).toContain(`  curl ${p.httpUrl}/cli-echo\n`);
  });

  it('makes version 2 on a second deploy', async () => {
    const r = await cli('fn', 'deploy', fixture('echo-cjs'), '--name', 'cli-echo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^✔ Deployed cli-echo version 2 \([0-9a-f]{12}\)/m);
  });

  it('lists the function as JSON with its live version', async () => {
    const r = await cli('fn', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { functions: { name: string; liveVersion: number | null }[] };
    expect(body.functions).toContainEqual(expect.objectContaining({ name: 'cli-echo', liveVersion: 2 }));
  });

  it('lists the function as a table', async () => {
    const r = await cli('fn', 'list');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+RUNTIME\s+VERSION\s+HASH\s+UPDATED$/);
    expect(lines).toContainEqual(expect.stringMatching(/^cli-echo\s+node\s+2\s+[0-9a-f]{12}\s+\S+Z$/));
  });

  it('shows both versions with the live one marked', async () => {
    const r = await cli('fn', 'get', 'cli-echo', '--json');
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as {
      function: { name: string; liveVersion: number; versions: { version: number; live: boolean }[] };
    };
    expect(body.function.name).toBe('cli-echo');
    expect(body.function.liveVersion).toBe(2);
    const versions = [...body.function.versions].sort((a, b) => a.version - b.version);
    expect(versions.map((v) => [v.version, v.live])).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it('deploys with scaling flags, rescales with fn scale, and shows it in fn get', async () => {
    const deployed = await cli('fn', 'deploy', fixture('sleepy'), '--name', 'cli-scale', '--max', '2');
    expect(deployed.code, deployed.stderr).toBe(0);
    const scaled = await cli('fn', 'scale', 'cli-scale', '--min', '1', '--concurrency', '4');
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(scaled.stdout).toContain('✔ Scaling of cli-scale updated');
    expect(scaled.stdout).toMatch(/minInstances \(--min\):\s+1 {2}\(set by fn scale\)/);
    expect(scaled.stdout).toMatch(/maxInstances \(--max\):\s+2\n/);
    const shown = await cli('fn', 'get', 'cli-scale');
    expect(shown.code, shown.stderr).toBe(0);
    // issue 20 item 11: the instance's own PID and RSS, and the cgroup's memory labelled as such
    expect(shown.stdout).toMatch(
      /INSTANCE\s+VERSION\s+STATE\s+PID\s+RSS\s+CGROUP-MEMORY\s+IN-FLIGHT\s+SERVED\s+UPTIME/,
    );
    expect(shown.stdout).toMatch(/concurrency \(--concurrency\):\s+4 {2}\(set by fn scale\)/);
    expect(shown.stdout).toMatch(/Cold starts:\s+\d+ \(of \d+ starts\)/);
    const bad = await cli('fn', 'scale', 'cli-scale', '--min', '3');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('SKIFF_E_INVALID_SCALING');
    const none = await cli('fn', 'scale', 'cli-scale');
    expect(none.code).toBe(2);
    const reset = await cli('fn', 'scale', 'cli-scale', '--reset', '--json');
    expect(reset.code, reset.stderr).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({
      override: null,
      scaling: { minInstances: 0, maxInstances: 2 },
    });
  });

  it('queues a call with invoke --async and shows it with invocation get and list', async () => {
    const queued = await cli('invoke', 'cli-echo', '--async', '--data', 'later');
    expect(queued.code, queued.stderr).toBe(0);
    // piped, the id alone (issue 20: scripts take `id=$(skiff invoke f --async)`)
    expect(queued.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    const id = queued.stdout.trim();
    const shown = await waitFor(
      'the invocation to succeed',
      async () => {
        const out = await cli('invocation', 'get', id);
        return out.stdout.includes('succeeded') ? out : undefined;
      },
      5_000,
    );
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/Status:\s+succeeded/);
    expect(shown.stdout).toContain('"body":"later"');
    const listed = await cli('invocation', 'list', '--function', 'cli-echo', '--json');
    expect(
      (JSON.parse(listed.stdout) as { invocations: { id: string }[] }).invocations.map((i) => i.id),
    ).toContain(id);
  });

  it('invokes with a body, a header and a path with query', async () => {
    const r = await cli(
      'invoke',
      'cli-echo',
      '--data',
      'hello',
      '--header',
      'x-test:1',
      '--path',
      '/sub/path?q=1',
    );
    expect(r.code, r.stderr).toBe(0);
    const echo = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(echo).toMatchObject({
      method: 'POST',
      path: '/sub/path',
      query: '?q=1',
      body: 'hello',
      function: 'cli-echo',
      version: 2,
    });
    expect(echo['headers']).toMatchObject({ 'x-test': '1' });
  });

  it('sends a binary file with --data @file and prints the bytes unchanged', async () => {
    const deployed = await cli('fn', 'deploy', fixture('respond-esm'), '--name', 'cli-respond');
    expect(deployed.code, deployed.stderr).toBe(0);
    const bytes = randomBytes(256 * 1024 + 3);
    const file = path.join(scratch, 'payload.bin');
    await writeFile(file, bytes);
    const r = await runCli(
      ['invoke', 'cli-respond', '--path', '/binary', '--data', `@${file}`],
      env,
      'buffer',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(bytes.length);
    expect(r.stdout.equals(bytes)).toBe(true);
  });

  it('--json gives a JSON answer as its value, text as text and other bytes as base64', async () => {
    const json = await cli('invoke', 'cli-respond', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 200, body: { ok: true }, bodyEncoding: 'json' });
    const text = await cli('invoke', 'cli-respond', '--path', '/text', '--json');
    expect(JSON.parse(text.stdout)).toMatchObject({ body: 'plain text', bodyEncoding: 'utf8' });
    const bytes = await cli('invoke', 'cli-respond', '--path', '/bytes', '--json');
    expect(JSON.parse(bytes.stdout)).toMatchObject({ body: 'AAEC/w==', bodyEncoding: 'base64' });
  });

  it("writes a stored result's bytes with invocation get --wait --output body", async () => {
    const bytes = randomBytes(4096);
    const file = path.join(scratch, 'async.bin');
    await writeFile(file, bytes);
    const queued = await cli('invoke', 'cli-respond', '--async', '--path', '/binary', '--data', `@${file}`);
    expect(queued.code, queued.stderr).toBe(0);
    const id = queued.stdout.trim();
    const r = await runCli(['invocation', 'get', id, '--wait', '--output', 'body'], env, 'buffer');
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.equals(bytes)).toBe(true);
    // the summary does not dump bytes that are not text into the terminal
    const summary = await cli('invocation', 'get', id);
    expect(summary.stdout).toMatch(/^Result:\s+status 200, 4096 bytes$/m);
    expect(summary.stdout).toContain('(4096 bytes that are not text: --output body writes them)');
  });

  it('refuses --output body while there is no result, with SKIFF_E_CLI_NO_RESULT and nothing on stdout', async () => {
    const deployed = await cli('fn', 'deploy', fixture('sleepy'), '--name', 'cli-sleepy');
    expect(deployed.code, deployed.stderr).toBe(0);
    const queued = await cli('invoke', 'cli-sleepy', '--async', '--path', '/?ms=6000', '-X', 'POST');
    const id = queued.stdout.trim();
    const now = await cli('invocation', 'get', id, '--output', 'body');
    expect(now.code).toBe(1);
    expect(now.stdout).toBe('');
    expect(now.stderr).toMatch(/invocation \S+ is (queued|running) and has no result yet; add --wait/);
    expect(now.stderr).toContain('code: SKIFF_E_CLI_NO_RESULT');
    const waited = await cli('invocation', 'get', id, '--output', 'body', '--wait', '--timeout', '1');
    expect(waited.code).toBe(1);
    expect(waited.stdout).toBe('');
    expect(waited.stderr).toMatch(/is still (queued|running) after 1 s/);
    const bad = await cli('invocation', 'get', id, '--output', 'everything');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--output must be one of summary, body, json');
    const missing = await cli(
      'invocation',
      'get',
      '00000000-0000-4000-8000-000000000000',
      '--output',
      'body',
    );
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('SKIFF_E_INVOCATION_NOT_FOUND');
  });

  it('prints what the function logged', async () => {
    const r = await cli('logs', 'cli-echo');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\S+Z stdout \[[0-9a-f-]{8}\] echo called POST \/sub\/path$/m);
  });

  it('reports a failed TypeScript build with the esbuild error', async () => {
    const r = await cli('fn', 'deploy', fixture('broken-ts'), '--name', 'cli-broken');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('code: SKIFF_E_BUILD_FAILED');
    // the build output came as the build ran (issue 20, item 6), above the error and not again below it
    expect(r.stderr).toContain('  │ ✘ [ERROR] Expected "}" but found ";"');
    expect(r.stderr).not.toContain('Build output (version 1):');
    expect(r.stderr).toContain('the build output above');
    expect(r.stderr).toMatch(/index\.ts:2:\d+:/);
  });

  it('sets a secret with --value and lists it by name, never by value', async () => {
    const value = `cli-secret-${randomBytes(8).toString('hex')}`;
    const set = await cli('secret', 'set', 'cli-echo', 'API_KEY', '--value', value);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('✔ Set secret API_KEY of cli-echo');
    const table = await cli('secret', 'list', 'cli-echo');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME {5}UPDATED\nAPI_KEY {2}\S+Z$/m);
    const json = await cli('secret', 'list', 'cli-echo', '--json');
    expect(JSON.parse(json.stdout)).toEqual({
      secrets: [{ name: 'API_KEY', updatedAt: expect.any(String) }],
    });
    for (const r of [set, table, json]) expect(r.stdout + r.stderr).not.toContain(value);
    const empty = await cli('secret', 'set', 'cli-echo', 'EMPTY', '--value', '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('the secret value is empty');
  });

  it('sets, gets, lists and deletes state, with compare-and-set and bytes from a file', async () => {
    const created = await cli('state', 'set', 'cli-echo', 'count', '0');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('✔ Created count of cli-echo (json, 1 bytes) at version 1');
    const stale = await cli('state', 'set', 'cli-echo', 'count', '5', '--if-version', '7');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('code: SKIFF_E_STATE_CONFLICT');
    expect(stale.stderr).toContain('is at version 1, not 7');
    const cas = await cli('state', 'set', 'cli-echo', 'count', '1', '--if-version', '1', '--json');
    expect(cas.code, cas.stderr).toBe(0);
    expect(JSON.parse(cas.stdout)).toMatchObject({ key: 'count', version: 2, created: false });
    const got = await cli('state', 'get', 'cli-echo', 'count', '--json');
    expect(JSON.parse(got.stdout)).toEqual({
      function: 'cli-echo',
      key: 'count',
      version: 2,
      contentType: 'application/json',
      value: 1,
    });
    const bytes = randomBytes(300);
    const file = path.join(scratch, 'blob.bin');
    await writeFile(file, bytes);
    expect((await cli('state', 'set', 'cli-echo', 'files/blob 1', '--file', file)).code).toBe(0);
    const raw = await runCli(['state', 'get', 'cli-echo', 'files/blob 1'], env, 'buffer');
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout.equals(bytes)).toBe(true);
    const table = await cli('state', 'list', 'cli-echo');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^KEY +VERSION +SIZE +TYPE +UPDATED$/m);
    expect(table.stdout).toMatch(/^count +2 +1 +json +\S+Z$/m);
    expect(table.stdout).toMatch(/^files\/blob 1 +1 +300 +bytes +\S+Z$/m);
    expect(table.stdout).toContain('2 of 10000 keys');
    const prefixed = await cli('state', 'list', 'cli-echo', '--prefix', 'files/', '--json');
    expect(JSON.parse(prefixed.stdout).keys.map((k: { key: string }) => k.key)).toEqual(['files/blob 1']);
    expect((await cli('state', 'delete', 'cli-echo', 'count')).stdout).toContain(
      '✔ Deleted count of cli-echo',
    );
    const gone = await cli('state', 'get', 'cli-echo', 'count');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('code: SKIFF_E_STATE_NOT_FOUND');
  });

  it('deletes a function, after which invoking it is FUNCTION_NOT_FOUND', async () => {
    const deleted = await cli('fn', 'delete', 'cli-echo');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('✔ Deleted cli-echo');
    const r = await cli('invoke', 'cli-echo');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('code: SKIFF_E_FUNCTION_NOT_FOUND');
  });

  it('rejects a wrong SKIFF_TOKEN as UNAUTHORIZED', async () => {
    const r = await runCli(['fn', 'list'], { ...env, SKIFF_TOKEN: 'not-the-token' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('code: SKIFF_E_UNAUTHORIZED');
  });

  it.each([
    [['fn', 'deploy'], 'skiff fn deploy [options] <dir>'],
    [['invoke'], 'skiff invoke [options] <name>'],
    [['logs'], 'skiff logs [options] [name]'],
    [['serve'], 'skiff serve [options]'],
  ])('shows usage for %j --help', async (command, usage) => {
    const r = await cli(...command, '--help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Usage: ${usage}`);
    expect(r.stdout).toContain('Examples:');
  });

  it('reports UNREACHABLE when the data dir has no platform', async () => {
    const empty = await makeDataDir();
    try {
      const r = await runCli(['fn', 'list'], cleanEnv({ SKIFF_HOME: empty }));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('code: SKIFF_E_CLI_UNREACHABLE');
      expect(r.stderr).toContain(path.join(empty, 'endpoints.json'));
    } finally {
      await removeDir(empty);
    }
  });
});
