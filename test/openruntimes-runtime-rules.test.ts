/**
 * What Open Runtimes' runtime server does around a function, in both bridges (flavor openruntimes),
 * through the Skiff gateway: /__opr/health and /__opr/timings, the secret, the timeout, logging and
 * log-id headers, OPEN_RUNTIMES_HEADERS, and the level and invocation id of every log line.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateLogId,
  parseTimeout,
  runtimeEnv,
  runtimeRequest,
} from '../runtimes/node/openruntimes-runtime.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { folderWith } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const UNAUTHORIZED = 'Unauthorized. Provide correct "x-open-runtimes-secret" header.';
const BAD_TIMEOUT = 'Header "x-open-runtimes-timeout" must be an integer greater than 0.';
const NATIVE = 'Native logs detected. Use context.log() or context.error() for better experience.';
const NO_RETURN = 'Return statement missing. return context.res.empty() if no response is expected.';

const NODE_MAIN = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
module.exports = async ({ req, res, log, error }) => {
  switch (req.path) {
    case '/echo':
      return res.json({ headers: req.headers });
    case '/slow':
      log('before the wait');
      await sleep(3000);
      log('after the wait');
      return res.text('late');
    case '/logs':
      log('a log line');
      error('an error line');
      console.log('native out');
      console.error('native err');
      return res.text('logged');
    case '/throw':
      log('about to throw');
      throw new Error('runtime rules say no');
    case '/none':
      return undefined;
    case '/set-log-id':
      return res.text('mine', 200, { 'x-open-runtimes-log-id': 'mine', 'X-Open-Runtimes-Log-Id': 'mine2' });
    default:
      return res.text('ran ' + req.path);
  }
};
`;

const PYTHON_BODY = `
    req, res = context.req, context.res
    if req.path == "/echo":
        return res.json({"headers": req.headers})
    if req.path == "/slow":
        context.log("before the wait")
        SLEEP
        context.log("after the wait")
        return res.text("late")
    if req.path == "/logs":
        context.log("a log line")
        context.error("an error line")
        print("native out")
        sys.stderr.write("native err\\n")
        return res.text("logged")
    if req.path == "/throw":
        context.log("about to throw")
        raise ValueError("runtime rules say no")
    if req.path == "/none":
        return None
    if req.path == "/set-log-id":
        return res.text("mine", 200, {"x-open-runtimes-log-id": "mine", "X-Open-Runtimes-Log-Id": "mine2"})
    return res.text("ran " + req.path)
`;
const PYTHON_SYNC = `import sys, time\n\ndef main(context):${PYTHON_BODY.replace('SLEEP', 'time.sleep(3)')}`;
const PYTHON_ASYNC = `import asyncio, sys\n\nasync def main(context):${PYTHON_BODY.replace('SLEEP', 'await asyncio.sleep(3)')}`;

/** A native function calling another one with ctx.call: ?to=<fn>&path=<path>&secret=<value>. */
const CALLER = `
export default async (request, ctx) => {
  const q = new URL(request.url).searchParams;
  const headers = q.has('secret') ? { 'x-open-runtimes-secret': q.get('secret') } : {};
  const res = await ctx.call(q.get('to'), undefined, { method: 'GET', path: q.get('path') ?? '/', headers });
  return Response.json({ status: res.status, body: await res.text(), logId: res.headers.get('x-open-runtimes-log-id') });
};
`;

const ENV = {
  OPEN_RUNTIMES_SECRET: 's3cret',
  OPEN_RUNTIMES_ENV: 'development',
  OPEN_RUNTIMES_HEADERS: '{"X-Forced":"from env","x-other":7}',
};

interface Line {
  stream: string;
  level: string;
  message: string;
  invocationId?: string;
}

const languages = [
  { lang: 'node', plain: 'rrnode', env: 'rrnodeenv', timed: ['rrnode'] },
  { lang: 'python', plain: 'rrpy', env: 'rrpyenv', timed: ['rrpy', 'rrpyasync'] },
] as const;

describe('the runtime rules on their own', () => {
  // 2026-12-06T15:00:00.042Z: seconds 0x6b157870, then 42 ms as 5 hex digits
  const at = Date.UTC(2026, 11, 6, 15, 0, 0, 42);

  it('Node: timeouts, log ids and OPEN_RUNTIMES_HEADERS', () => {
    expect(['', '0', '00', 'abcd', '-1', '1.5', ' 1', '²'].map(parseTimeout)).toEqual([
      null,
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
    ]);
    expect(['1', '007', '2147483', '2147484', '9'.repeat(400)].map(parseTimeout)).toEqual([
      1000,
      7000,
      2147483000,
      Infinity,
      Infinity,
    ]);
    expect(generateLogId(at)).toMatch(/^6b1578700002a[0-9a-f]{7}$/);
    const env = runtimeEnv({});
    const logId = (value: string) => runtimeRequest([['X-Open-Runtimes-Log-Id', value]], env).logId;
    expect(logId('given one')).toBe('given one');
    for (const bad of ['', 'a\nb', 'x'.repeat(1025)]) expect(logId(bad)).toMatch(/^[0-9a-f]{20}$/);
    expect(runtimeRequest([['x-open-runtimes-logging', 'disabled']], env)).toEqual({
      logging: false,
      logId: '',
    });
    expect(runtimeRequest([['x-open-runtimes-logging', 'off']], env).logging).toBe(true);
    expect(runtimeEnv({ OPEN_RUNTIMES_HEADERS: '{"X-A":1}' }).forcedHeaders).toEqual({ 'x-a': '1' });
    for (const bad of ['[1]', 'null', '"x"', '{'])
      expect(() => runtimeEnv({ OPEN_RUNTIMES_HEADERS: bad })).toThrow('must be a JSON object');
  });

  it('Python: the same timeouts and log ids', () => {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(path.resolve('runtimes/python'))})`,
      'import skiff_openruntimes_runtime as r',
      'cases = ["", "0", "abcd", "-1", "1.5", "\u00b2", "1", "007", "9" * 5000]',
      `print(json.dumps({"timeouts": [str(r.parse_timeout(c)) for c in cases], "id": r.generate_log_id(${at / 1000})}))`,
    ].join('\n');
    const out = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const got = JSON.parse(out.stdout) as { timeouts: string[]; id: string };
    expect(got.timeouts).toEqual([
      'None',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      '1',
      '7',
      'inf',
    ]);
    expect(got.id).toMatch(/^6b1578700002a[0-9a-f]{7}$/);
  });
});

describe('Open Runtimes runtime rules (flavor openruntimes, Node and Python)', () => {
  let p: TestPlatform;
  const dirs: string[] = [];

  async function deploy(name: string, files: Record<string, string>, expectStatus = 201): Promise<string> {
    const dir = await folderWith(files);
    dirs.push(dir);
    const res = await p.deploy(name, dir);
    const text = await res.text();
    expect(res.status, text).toBe(expectStatus);
    return text;
  }

  const spec = (runtime: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ runtime, flavor: 'openruntimes', ...extra });

  beforeAll(async () => {
    p = await startPlatform();
    await deploy('rrnode', { 'skiff.json': spec('node'), 'index.js': NODE_MAIN });
    await deploy('rrnodeenv', { 'skiff.json': spec('node', { env: ENV }), 'index.js': NODE_MAIN });
    await deploy('rrpy', { 'skiff.json': spec('python'), 'main.py': PYTHON_SYNC });
    await deploy('rrpyenv', { 'skiff.json': spec('python', { env: ENV }), 'main.py': PYTHON_SYNC });
    await deploy('rrpyasync', { 'skiff.json': spec('python'), 'main.py': PYTHON_ASYNC });
    await deploy('rrcaller', { 'skiff.json': JSON.stringify({ runtime: 'node' }), 'index.mjs': CALLER });
  }, 180_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  /** The lines of one invocation, once `until` holds for them. */
  async function linesOf(name: string, id: string, until: (lines: Line[]) => boolean): Promise<Line[]> {
    return waitFor(`the log lines of ${name} ${id}`, async () => {
      const res = await p.api(`/v1/functions/${name}/logs?limit=1000`);
      const lines = ((await res.json()) as { logs: Line[] }).logs.filter((l) => l.invocationId === id);
      return until(lines) ? lines : undefined;
    });
  }

  const idOf = (res: Response): string => res.headers.get('x-skiff-invocation-id') ?? '';
  const has = (message: string) => (lines: Line[]) => lines.some((l) => l.message === message);

  describe.each(languages)('$lang', ({ lang, plain, env, timed }) => {
    it('GET /__opr/health answers OK without the function or the secret; /__opr/timings lists timings', async () => {
      for (const name of [plain, env]) {
        const health = await p.call(`/${name}/__opr/health`);
        expect(health.status).toBe(200);
        expect(health.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(await health.text()).toBe('OK');
      }
      // not GET: the function's own route
      const post = await p.call(`/${plain}/__opr/health`, { method: 'POST' });
      expect(await post.text()).toBe('ran /__opr/health');
      const timings = await p.call(`/${env}/__opr/timings`);
      expect(timings.status).toBe(200);
      expect(timings.headers.get('content-type')).toMatch(/^text\/plain/);
      const lines = (await timings.text()).trimEnd().split('\n');
      expect(lines.map((l) => l.split('=')[0])).toEqual(['startup', 'load', 'uptime']);
      for (const line of lines) expect(line, lang).toMatch(/^[a-z]+=\d+\.\d{3}$/);
    });

    it('a wrong, empty or missing secret is a 500 with upstream message; the right one passes', async () => {
      for (const headers of [{}, { 'x-open-runtimes-secret': '' }, { 'x-open-runtimes-secret': 's3cre' }]) {
        const res = await p.call(`/${env}/`, { headers });
        expect(res.status).toBe(500);
        expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(await res.text()).toBe(UNAUTHORIZED);
        expect(res.headers.get('x-open-runtimes-log-id')).toBe('dev');
      }
      const ok = await p.call(`/${env}/`, { headers: { 'x-open-runtimes-secret': 's3cret' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('ran /');
      // no secret in the env: anything passes
      for (const headers of [{}, { 'x-open-runtimes-secret': 'whatever' }]) {
        const res = await p.call(`/${plain}/`, { headers });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('ran /');
      }
    });

    it('x-open-runtimes-timeout must be an integer >= 1; a valid one that is not reached changes nothing', async () => {
      for (const value of ['abcd', '0', '-1', '1.5', '²']) {
        const res = await p.call(`/${plain}/`, { headers: { 'x-open-runtimes-timeout': value } });
        expect(res.status, value).toBe(500);
        expect(await res.text(), value).toBe(BAD_TIMEOUT);
        expect(res.headers.get('x-open-runtimes-log-id'), value).toMatch(/^[0-9a-f]{20}$/);
      }
      for (const value of ['5', '007', '99999999999999999999']) {
        const res = await p.call(`/${plain}/`, { headers: { 'x-open-runtimes-timeout': value } });
        expect(res.status, value).toBe(200);
        expect(await res.text()).toBe('ran /');
      }
    });

    it.each(timed)(
      'a 3 s run with x-open-runtimes-timeout: 1 (%s) answers an empty 500, "Execution timed out." in its errors',
      async (name) => {
        const started = Date.now();
        const res = await p.call(`/${name}/slow`, { headers: { 'x-open-runtimes-timeout': '1' } });
        expect(res.status).toBe(500);
        expect(await res.text()).toBe('');
        expect(Date.now() - started).toBeLessThan(2900);
        expect(res.headers.get('x-open-runtimes-log-id')).toMatch(/^[0-9a-f]{20}$/);
        const lines = await linesOf(name, idOf(res), has('Execution timed out.'));
        expect(lines.find((l) => l.message === 'Execution timed out.')?.level).toBe('error');
        expect(lines.find((l) => l.message === 'before the wait')?.level).toBe('info');
        expect(lines.map((l) => l.message).indexOf('before the wait')).toBeLessThan(
          lines.map((l) => l.message).indexOf('Execution timed out.'),
        );
      },
    );

    it('the log id: 20 hex of now, the request one, dev in development, empty when logging is off', async () => {
      const generated = await p.call(`/${plain}/`);
      const id = generated.headers.get('x-open-runtimes-log-id') ?? '';
      expect(id).toMatch(/^[0-9a-f]{20}$/);
      expect(Math.abs(parseInt(id.slice(0, 8), 16) - Date.now() / 1000)).toBeLessThan(60);
      expect(parseInt(id.slice(8, 13), 16)).toBeLessThan(1000);
      const given = await p.call(`/${plain}/`, { headers: { 'x-open-runtimes-log-id': 'my-log-id' } });
      expect(given.headers.get('x-open-runtimes-log-id')).toBe('my-log-id');
      const emptyGiven = await p.call(`/${plain}/`, { headers: { 'x-open-runtimes-log-id': '' } });
      expect(emptyGiven.headers.get('x-open-runtimes-log-id')).toMatch(/^[0-9a-f]{20}$/);
      const dev = await p.call(`/${env}/`, { headers: { 'x-open-runtimes-secret': 's3cret' } });
      expect(dev.headers.get('x-open-runtimes-log-id')).toBe('dev');
      const off = await p.call(`/${plain}/`, {
        headers: { 'x-open-runtimes-logging': 'disabled', 'x-open-runtimes-log-id': 'ignored' },
      });
      expect(off.status).toBe(200);
      expect(off.headers.get('x-open-runtimes-log-id')).toBe('');
      // a failure carries it too, and the function's own never wins
      const failed = await p.call(`/${plain}/throw`);
      expect(failed.status).toBe(500);
      expect(failed.headers.get('x-open-runtimes-log-id')).toMatch(/^[0-9a-f]{20}$/);
      const own = await p.call(`/${plain}/set-log-id`);
      expect(await own.text()).toBe('mine');
      expect(own.headers.get('x-open-runtimes-log-id')).toMatch(/^[0-9a-f]{20}$/);
      const ownDev = await p.call(`/${env}/set-log-id`, { headers: { 'x-open-runtimes-secret': 's3cret' } });
      expect(ownDev.headers.get('x-open-runtimes-log-id')).toBe('dev');
    });

    it('the rules hold for a call from another function (ctx.call) too', async () => {
      const via = async (query: string) =>
        (await (await p.call(`/rrcaller/?to=${env}&${query}`)).json()) as Record<string, unknown>;
      expect(await via('path=/')).toEqual({ status: 500, body: UNAUTHORIZED, logId: 'dev' });
      expect(await via('path=/&secret=s3cret')).toEqual({ status: 200, body: 'ran /', logId: 'dev' });
      expect(await via('path=/__opr/health')).toEqual({ status: 200, body: 'OK', logId: null });
    });

    it('OPEN_RUNTIMES_HEADERS replaces request headers of the same lower-cased name', async () => {
      const res = await p.call(`/${env}/echo`, {
        headers: { 'x-open-runtimes-secret': 's3cret', 'x-forced': 'from the client', 'x-kept': 'k' },
      });
      const seen = ((await res.json()) as { headers: Record<string, string> }).headers;
      expect(seen['x-forced']).toBe('from env');
      expect(seen['x-other']).toBe('7');
      expect(seen['x-kept']).toBe('k');
      const plainSeen = await p.call(`/${plain}/echo`, { headers: { 'x-forced': 'from the client' } });
      expect(((await plainSeen.json()) as { headers: Record<string, string> }).headers['x-forced']).toBe(
        'from the client',
      );
    });

    it('every line has its level (logs: info, errors: error) and the invocation id', async () => {
      const logs = await p.call(`/${plain}/logs`);
      expect(await logs.text()).toBe('logged');
      const lines = await linesOf(plain, idOf(logs), has('native err'));
      const level = (message: string) => lines.find((l) => l.message === message)?.level;
      expect(level('a log line')).toBe('info');
      expect(level('an error line')).toBe('error');
      expect(level(NATIVE)).toBe('info');
      expect(level('native out')).toBe('info');
      expect(level('native err')).toBe('info');
      const thrown = await p.call(`/${plain}/throw`);
      const stack = await linesOf(plain, idOf(thrown), (ls) =>
        ls.some((l) => l.message.includes('runtime rules say no')),
      );
      expect(stack.find((l) => l.message.includes('runtime rules say no'))?.level).toBe('error');
      expect(stack.find((l) => l.message === 'about to throw')?.level).toBe('info');
      const none = await p.call(`/${plain}/none`);
      expect(none.status).toBe(500);
      const missing = await linesOf(plain, idOf(none), has(NO_RETURN));
      expect(missing.find((l) => l.message === NO_RETURN)?.level).toBe('error');
    });

    it('x-open-runtimes-logging: disabled writes nothing of the invocation to the logs', async () => {
      const off = { 'x-open-runtimes-logging': 'disabled' };
      const quiet = await p.call(`/${plain}/logs`, { headers: off });
      expect(await quiet.text()).toBe('logged');
      expect(quiet.headers.get('x-open-runtimes-log-id')).toBe('');
      const quietThrow = await p.call(`/${plain}/throw`, { headers: off });
      expect(quietThrow.status).toBe(500);
      expect(quietThrow.headers.get('x-open-runtimes-log-id')).toBe('');
      // any other value is enabled; its lines come after those of the quiet calls (one connection)
      const loud = await p.call(`/${plain}/logs`, { headers: { 'x-open-runtimes-logging': 'enabled' } });
      await linesOf(plain, idOf(loud), has('native err'));
      const res = await p.api(`/v1/functions/${plain}/logs?limit=1000`);
      const all = ((await res.json()) as { logs: Line[] }).logs;
      for (const quietId of [idOf(quiet), idOf(quietThrow)]) {
        expect(quietId).not.toBe('');
        expect(all.filter((l) => l.invocationId === quietId)).toEqual([]);
      }
      expect(
        all.some((l) => l.message.includes('runtime rules say no') && l.invocationId === undefined),
      ).toBe(false);
    });

    it('OPEN_RUNTIMES_HEADERS that is not a JSON object fails the deploy, saying so', async () => {
      const files = lang === 'node' ? { 'index.js': NODE_MAIN } : { 'main.py': PYTHON_SYNC };
      const text = await deploy(
        `${plain}bad`,
        { ...files, 'skiff.json': spec(lang, { env: { OPEN_RUNTIMES_HEADERS: '["x"]' } }) },
        422,
      );
      expect(text).toContain('OPEN_RUNTIMES_HEADERS must be a JSON object');
    });
  });
});
