/**
 * Hostile instances: a custom runtime (test/fixtures/functions/hostile-runtime) that writes raw frames
 * the protocol does not allow, Node functions that throw what no Error is, Python exceptions that
 * cannot be printed. None of it may take the platform down; each gets a bounded, documented answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { exited, spawnServe, type ServeProcess, deployTo } from '../helpers/serve-process.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/** Frames that break the protocol: each ends the instance, its invocation gets 502 SKIFF_E_PROTOCOL. */
const VIOLATIONS: Record<string, RegExp> = {
  'error-no-message': /ERROR frame: meta\.message/,
  'error-number-message': /ERROR frame: meta\.message/,
  'error-unknown-code': /ERROR frame: meta\.code/,
  'status-string': /RESULT frame: meta\.status/,
  'status-float': /RESULT frame: meta\.status/,
  'status-missing': /RESULT frame: meta\.status/,
  'headers-not-pairs': /RESULT frame: meta\.headers/,
  'headers-object': /RESULT frame: meta\.headers/,
  'headers-triple': /RESULT frame: meta\.headers/,
  'log-bad-stream': /LOG frame: meta\.stream/,
  'log-no-level': /LOG frame: meta\.level/,
  'unknown-kind': /kind 99 is not a frame a runtime may send/,
  'platform-kind': /INVOKE is not a frame a runtime may send/,
  'bad-json': /JSON/,
  'meta-array': /not a JSON object/,
  'meta-null': /not a JSON object/,
  'meta-overrun': /overruns/,
  'huge-meta': /meta of \d+ bytes is larger than 1048576/,
  'length-too-small': /invalid frame length 7/,
};

interface ErrorBody {
  error: { code: string; message: string };
}

describe('hostile frames (in-process platform)', () => {
  let p: TestPlatform;

  /** Which instance answers (a token the runtime draws at start). */
  const instanceOf = async (): Promise<string> => (await p.call('/hostile/whoami')).text();
  /** The host pids of the function's instances. */
  const hostPids = async (): Promise<number[]> => {
    const status = (await (await p.api('/v1/functions/hostile')).json()) as {
      function: { instances: { pid: number }[] };
    };
    return status.function.instances.map((i) => i.pid);
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    p = await startPlatform({ config: { functions: { maxResponseBytes: MiB } } });
    await p.deployAll({
      hostile: 'hostile-runtime',
      'throws-odd': 'throws-odd',
      'py-badstr': 'py-badstr',
      echo: 'echo-cjs',
    });
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('ends an instance that sends an invalid frame: 502 SKIFF_E_PROTOCOL, a log line, a new instance', async () => {
    for (const [attack, reason] of Object.entries(VIOLATIONS)) {
      const before = await instanceOf();
      const pids = await hostPids();
      const res = await p.call(`/hostile/${attack}`);
      expect(res.status, attack).toBe(502);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code, attack).toBe('SKIFF_E_PROTOCOL');
      expect(await instanceOf(), attack).not.toBe(before);
      await waitUntil(`${attack}: the old instance to be gone`, () => !pids.some(alive), 2_000).catch(
        () => undefined,
      );
      expect(pids.some(alive), `${attack}: the old instance is gone`).toBe(false);
      const line = (await p.logs('hostile')).find(
        (l) => l.message.includes('broke the runtime protocol') && reason.test(l.message),
      );
      expect(line, `${attack}: a line in the function's logs`).toBeDefined();
    }
  }, 60_000);

  it('ignores a RESULT or ERROR for a wire id it never sent, and a late READY', async () => {
    const before = await instanceOf();
    const res = await p.call('/hostile/unknown-id');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('after-stray');
    expect(await instanceOf()).toBe(before);
  });

  it('refuses statuses that are not final (1xx, 101) or above 599 with 502 SKIFF_E_BAD_RESPONSE', async () => {
    const before = await instanceOf();
    for (const attack of ['status-101', 'status-99', 'status-100', 'status-600']) {
      const res = await p.call(`/hostile/${attack}`);
      expect(res.status, attack).toBe(502);
      expect(((await res.json()) as ErrorBody).error.code, attack).toBe('SKIFF_E_BAD_RESPONSE');
    }
    expect(await instanceOf()).toBe(before);
  });

  it('sends no body with 204 and 304', async () => {
    for (const status of [204, 304]) {
      const res = await p.call(`/hostile/status-${status}`);
      expect(res.status).toBe(status);
      expect(await res.text()).toBe('');
      if (status === 204) expect(res.headers.get('content-length')).toBeNull();
    }
    // the connection stays usable: a body sent anyway would be read as the next response
    expect(await (await p.call('/hostile/ok')).text()).toBe('ok');
  });

  it('refuses a body over maxResponseBytes (502 SKIFF_E_BAD_RESPONSE); far over it ends the instance', async () => {
    const before = await instanceOf();
    const over = await p.call('/hostile/over-limit');
    expect(over.status).toBe(502);
    const overBody = (await over.json()) as ErrorBody;
    expect(overBody.error).toMatchObject({ code: 'SKIFF_E_BAD_RESPONSE' });
    expect(overBody.error.message).toMatch(/larger than the limit of 1048576 bytes/);
    expect(await instanceOf()).toBe(before);

    const beyond = await p.call('/hostile/beyond-limit');
    expect(beyond.status).toBe(502);
    expect(((await beyond.json()) as ErrorBody).error.message).toMatch(/larger than the limit of 1048576/);
    expect(await instanceOf()).not.toBe(before);
  });

  it('answers a frame announcing 60 MiB at once, without waiting for (or buffering) its bytes', async () => {
    const started = performance.now();
    const res = await p.call('/hostile/announce-60mib');
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorBody).error.message).toMatch(/larger than the limit/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await p.call('/hostile/ok')).status).toBe(200);
  });

  it('cuts a huge LOG frame text', async () => {
    const res = await p.call('/hostile/log-huge');
    expect(await res.text()).toBe('logged');
    const line = (await p.logs('hostile')).find((l) => l.message.startsWith('bbbb'));
    expect(line?.message.length).toBeLessThan(17 * 1024);
    expect(line?.message).toMatch(/\[(cut|truncated)/);
  });

  it('a Node function throwing a non-Error or an Error without message or stack gets a valid ERROR', async () => {
    const cases: Record<string, string> = {
      'no-message': 'the function threw an Error without a message',
      null: 'the function threw a non-Error value: null',
      undefined: 'the function threw a non-Error value: undefined',
      number: 'the function threw a non-Error value: 42',
      object: 'the function threw a non-Error value: {}',
      'no-prototype': 'the function threw a non-Error value: [Object: null prototype] {}',
      'throwing-getters': 'the function threw an Error without a message',
      'revoked-proxy': 'the function threw a non-Error value',
      symbol: 'the function threw a non-Error value: Symbol(s)',
      'huge-message': 'mmmm',
    };
    const pid = Number(JSON.parse(await (await p.call('/echo')).text()).pid);
    for (const [path, text] of Object.entries(cases)) {
      const res = await p.call(`/throws-odd/${path}`);
      expect(res.status, path).toBe(500);
      expect(((await res.json()) as ErrorBody).error.code, path).toBe('SKIFF_E_FUNCTION_ERROR');
      const logs = await p.logs('throws-odd');
      expect(
        logs.some((l) => l.message.includes(text)),
        `${path}: "${text}" in the logs`,
      ).toBe(true);
    }
    expect((await p.call('/throws-odd/huge-log')).status).toBe(200);
    expect(await (await p.call('/throws-odd/ok')).text()).toBe('fine');
    expect(Number(JSON.parse(await (await p.call('/echo')).text()).pid)).toBe(pid);
  }, 30_000);

  it('a Python exception whose str() fails, or is huge, gets a valid ERROR at once', async () => {
    for (const path of ['bad-str', 'not-a-string', 'huge']) {
      const started = performance.now();
      const res = await p.call(`/py-badstr/${path}`);
      expect(res.status, path).toBe(500);
      expect(((await res.json()) as ErrorBody).error.code, path).toBe('SKIFF_E_FUNCTION_ERROR');
      expect(performance.now() - started, path).toBeLessThan(5_000);
    }
    const logs = await p.logs('py-badstr');
    expect(logs.some((l) => l.message.includes('BadStr'))).toBe(true);
    const status = await p.call('/py-badstr/status-101');
    expect(status.status).toBe(502);
    expect(((await status.json()) as ErrorBody).error.code).toBe('SKIFF_E_BAD_RESPONSE');
    expect(await (await p.call('/py-badstr/no-newline')).text()).toBe('printed');
    expect(await (await p.call('/py-badstr/ok')).text()).toBe('fine');
  }, 30_000);
});

describe('hostile frames against `skiff serve` (the process survives)', () => {
  let serve: ServeProcess;
  let dataDir: string;
  let stderr = '';

  beforeAll(async () => {
    dataDir = await makeDataDir();
    serve = await spawnServe(dataDir, { stdio: ['ignore', 'ignore', 'pipe'] });
    serve.child.stderr?.setEncoding('utf8');
    serve.child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < MiB) stderr += chunk;
    });
    for (const [name, dir] of [
      ['hostile', 'hostile-runtime'],
      ['throws-odd', 'throws-odd'],
      ['echo', 'echo-cjs'],
    ] as const) {
      expect((await deployTo(serve, name, fixture(dir))).status, `deploy ${name}`).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    serve.child.kill('SIGTERM');
    await exited(serve.child);
    await removeDir(dataDir);
  });

  it('keeps answering /v1/health and other functions after every attack', async () => {
    const attacks = [
      ...Object.keys(VIOLATIONS).map((a) => `/hostile/${a}`),
      ...['status-101', 'announce-60mib', 'beyond-limit'].map((a) => `/hostile/${a}`),
      ...['no-message', 'null', 'number', 'object', 'revoked-proxy', 'huge-message'].map(
        (a) => `/throws-odd/${a}`,
      ),
    ];
    for (const attack of attacks) {
      const res = await fetch(`${serve.http}${attack}`);
      expect(res.status, attack).toBeGreaterThanOrEqual(500);
      await res.arrayBuffer();
      // an answered call resets the function's crash back-off, so the next attack meets an instance
      const [name] = attack.slice(1).split('/');
      expect((await fetch(`${serve.http}/${name}/ok`)).status, `${name} after ${attack}`).toBe(200);
      expect(serve.child.exitCode, `the platform is alive after ${attack}`).toBeNull();
    }
    const health = await fetch(`${serve.control}/v1/health`);
    expect(health.status).toBe(200);
    const echo = await fetch(`${serve.http}/echo/after`);
    expect(echo.status).toBe(200);
    expect(((await echo.json()) as { path: string }).path).toBe('/after');
    // one warning per ended instance, no stack traces
    const warnings = stderr.split('\n').filter((l) => l.includes('broke the runtime protocol'));
    expect(warnings.length).toBeGreaterThanOrEqual(Object.keys(VIOLATIONS).length);
    expect(stderr).not.toMatch(/"stack":/);
  }, 120_000);
});
