/**
 * The platform's health on the real `skiff serve` process: readiness 503 while the minimum instances
 * of a function start and while a SIGTERM drains an in-flight call, the function port's reserved
 * `/_skiff/` paths (no function name, host route or dialect takes them), and `skiff status`.
 */
import { request } from 'node:http';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { fixture, makeDataDir, removeDir } from './helpers/platform.js';
import { deployTo, exited, spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { waitFor } from './helpers/wait.js';

/** GET over node:http (which sends the Host given): status and parsed JSON body. */
function get(url: string, host?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host === undefined ? {} : { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { text };
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health probes and skiff status', () => {
  let dataDir: string;
  let work: string;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    work = await makeDataDir();
  });
  afterAll(async () => {
    if (serve !== undefined && serve.child.exitCode === null) {
      serve.child.kill('SIGKILL');
      await exited(serve.child);
    }
    await removeDir(dataDir);
    await removeDir(work);
  });

  it('answers the probes on both listeners, keeps /_skiff/ from functions and host routes, and skiff status tells the platform', async () => {
    serve = await spawnServe(dataDir, { args: ['--listeners', 'none'] });
    // a function whose host route claims a host: every path of that host is its own, but /_skiff/
    const hosted = path.join(work, 'hosted');
    await cp(fixture('sleepy'), hosted, { recursive: true });
    await writeFile(
      path.join(hosted, 'skiff.json'),
      JSON.stringify({ routes: [{ host: 'app.example.com' }] }),
    );
    expect((await deployTo(serve, 'hosted', hosted)).status).toBe(201);
    expect((await get(`${serve.http}/`, 'app.example.com')).body).toHaveProperty('instance');

    for (const host of [undefined, 'app.example.com']) {
      expect(await get(`${serve.http}/_skiff/health/live`, host)).toEqual({
        status: 200,
        body: { status: 'live' },
      });
      expect(await get(`${serve.http}/_skiff/health/ready`, host)).toEqual({
        status: 200,
        body: { status: 'ready' },
      });
      const other = await get(`${serve.http}/_skiff/anything`, host);
      expect(other.status).toBe(404);
      expect(other.body).toMatchObject({ error: { code: 'SKIFF_E_NOT_FOUND' } });
    }
    expect(await get(`${serve.control}/v1/health/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await get(`${serve.control}/v1/health/live`)).toEqual({ status: 200, body: { status: 'live' } });
    // the old liveness route still answers
    expect((await get(`${serve.control}/v1/health`)).body).toEqual({ status: 'ok' });

    // no function can be named for the reserved prefix
    const claim = await deployTo(serve, '_skiff', hosted);
    expect(claim.status).toBe(400);

    const env = cleanEnv({ SKIFF_HOME: dataDir });
    const text = await runCli(['status'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Skiff \d+\.\d+\.\d+ \(Node\.js v\d+/);
    expect(text.stdout).toContain('ready:      yes');
    expect(text.stdout).toContain(serve.control);
    expect(text.stdout).toContain('functions:  1');
    expect(text.stdout).toMatch(/instances: +1 ready/);
    expect(text.stdout).toMatch(/disk: +\d.* free of .*\(/);
    const json = await runCli(['status', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      ready: true,
      phase: 'ready',
      functions: 1,
      instances: { ready: 1 },
      listeners: { control: serve.control, http: serve.http },
      queue: { executorQueued: 0, executorInFlight: 0, asyncQueued: 0, asyncRunning: 0 },
      disk: { path: dataDir },
    });
    expect((status['disk'] as { freeBytes: number }).freeBytes).toBeGreaterThan(0);
    // the status is the admin's: no token, no status
    expect((await get(`${serve.control}/v1/status`)).status).toBe(401);
  });

  it('is not ready while a SIGTERM drains an in-flight call, and refuses new calls meanwhile', async () => {
    if (serve === undefined) throw new Error('the first test did not start the platform');
    const s = serve;
    expect((await deployTo(s, 'sleepy', fixture('sleepy'))).status).toBe(201);
    const slow = fetch(`${s.http}/sleepy?ms=4000`);
    await waitFor(
      'the slow call to be in flight',
      async () => {
        const res = await fetch(`${s.control}/v1/status`, {
          headers: { authorization: `Bearer ${s.token}` },
        });
        const body = (await res.json()) as { queue: { executorInFlight: number } };
        return body.queue.executorInFlight > 0 ? true : undefined;
      },
      10_000,
    );
    s.child.kill('SIGTERM');
    const draining = await waitFor(
      'readiness to say draining',
      async () => {
        const r = await get(`${s.http}/_skiff/health/ready`);
        return r.status === 503 ? r : undefined;
      },
      3000,
    );
    expect(draining.body).toMatchObject({ status: 'draining' });
    // still live, and the control API's probe says the same
    expect((await get(`${s.http}/_skiff/health/live`)).status).toBe(200);
    expect((await get(`${s.control}/v1/health/ready`)).status).toBe(503);
    const refused = await get(`${s.http}/sleepy`);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'SKIFF_E_SHUTTING_DOWN' } });
    // the call in flight finishes, then the platform stops
    expect((await slow).status).toBe(200);
    await exited(s.child);
    expect(s.child.exitCode).toBe(0);
  });

  it('is not ready until the minimum instances of a function started', async () => {
    // loads for 6 s (top-level await: a wide window for the probe on a busy machine), and keeps one instance
    const slowStart = path.join(work, 'slow-start');
    await mkdir(slowStart, { recursive: true });
    await writeFile(
      path.join(slowStart, 'index.mjs'),
      'await new Promise((r) => setTimeout(r, 6000));\nexport default async () => ({ ok: true });\n',
    );
    await writeFile(path.join(slowStart, 'skiff.json'), JSON.stringify({ scaling: { minInstances: 1 } }));
    const first = await spawnServe(dataDir, { args: ['--listeners', 'none'] });
    serve = first;
    expect((await deployTo(first, 'slow-start', slowStart)).status).toBe(201);
    first.child.kill('SIGTERM');
    await exited(first.child);

    // started again: the listeners are up (endpoints.json written) while the instance still loads
    const again = await spawnServe(dataDir, { args: ['--listeners', 'none'] });
    serve = again;
    const starting = await get(`${again.http}/_skiff/health/ready`);
    expect(starting.status).toBe(503);
    expect(starting.body).toMatchObject({ status: 'starting' });
    // nothing about the functions leaks to a probe
    expect(JSON.stringify(starting.body)).not.toContain('slow-start');
    expect((await get(`${again.http}/_skiff/health/live`)).status).toBe(200);
    await waitFor(
      'readiness once the minimum instance is up',
      async () => ((await get(`${again.http}/_skiff/health/ready`)).status === 200 ? true : undefined),
      20_000,
    );
    const res = await fetch(`${again.control}/v1/functions/slow-start`, {
      headers: { authorization: `Bearer ${again.token}` },
    });
    const fn = (await res.json()) as { function: { instances: { state: string }[] } };
    expect(fn.function.instances.map((i) => i.state)).toContain('ready');
    again.child.kill('SIGTERM');
    await exited(again.child);
  });

  it('keeps the probes in tinyFaaS mode, whose rules take the whole function port', async () => {
    const tfDir = await makeDataDir();
    const tf = await spawnServe(tfDir, { args: ['--listeners', 'none', '--tinyfaas'] });
    try {
      expect(await get(`${tf.http}/_skiff/health/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
      expect(await get(`${tf.http}/_skiff/health/live`)).toEqual({ status: 200, body: { status: 'live' } });
      expect((await get(`${tf.http}/_skiff/other`)).body).toMatchObject({
        error: { code: 'SKIFF_E_NOT_FOUND' },
      });
      expect(await get(`${tf.control}/v1/health/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
    } finally {
      tf.child.kill('SIGTERM');
      await exited(tf.child);
      await removeDir(tfDir);
    }
  });
});
