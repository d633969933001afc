/**
 * Control API lock-out (issue 12): a local user without the token holds every connection slot of
 * the control API (keep-alive connections polling the public /v1/health, and connections that send
 * their headers slowly), from many 127.x.y.z addresses so that no per-address cap helps. The admin,
 * who sends the token in the first request, must still get in: unproven connections make way.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir } from '../helpers/platform.js';
import { exited, spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { waitUntil } from '../helpers/wait.js';

const CAP = 64;
const CONFIG = {
  control: { maxConnections: CAP },
  connections: { maxPerAddress: CAP, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 },
};
/** Attack connections kept open (re-opened when closed): well over the cap. */
const POLLERS = 120;
const SLOW = 60;
const ADMIN_CALLS = 20;

/** One request on a fresh connection; resolves with the status, or 0 when it failed. */
function call(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { agent: false, timeout: 5_000, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** An attacker that keeps `n` connections open and busy until `stop()`, re-opening closed ones. */
function attack(port: number) {
  let stopped = false;
  const open = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let health = 0;
  const later = (fn: () => void, ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  };
  const one = (i: number, slow: boolean): void => {
    const localAddress = slow ? `127.0.9.${1 + (i % 40)}` : `127.0.8.${1 + (i % 40)}`;
    const s = connect({ port, host: '127.0.0.1', localAddress });
    open.add(s);
    const poll = (): void => {
      if (s.destroyed) return;
      if (slow) s.write('X-Slow: y\r\n');
      else s.write(`GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      later(poll, slow ? 2_000 : 500);
    };
    s.on('connect', () => {
      if (slow) s.write('GET /v1/health HTTP/1.1\r\n');
      poll();
    });
    s.on('data', (d: Buffer) => (health += d.toString('latin1').split('HTTP/1.1 200').length - 1));
    s.on('error', () => undefined);
    s.on('close', () => {
      open.delete(s);
      later(() => one(i, slow), 300);
    });
  };
  for (let i = 0; i < POLLERS; i += 1) one(i, false);
  for (let i = 0; i < SLOW; i += 1) one(i, true);
  return {
    open: () => open.size,
    health: () => health,
    stop: () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const s of open) s.destroy();
    },
  };
}

describe('control API lock-out by connections without the token', () => {
  let dataDir: string;
  let serve: ServeProcess;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    const configFile = path.join(dataDir, 'limits.json');
    await writeFile(configFile, JSON.stringify(CONFIG));
    serve = await spawnServe(dataDir, { args: ['--config', configFile] });
  });

  afterAll(async () => {
    if (serve !== undefined) {
      serve.child.kill('SIGTERM');
      await exited(serve.child);
    }
    await removeDir(dataDir);
  });

  it('answers requests without the token with Connection: close', async () => {
    const res = await fetch(`${serve.control}/v1/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    const denied = await fetch(`${serve.control}/v1/functions`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('connection')).toBe('close');
    const admin = await fetch(`${serve.control}/v1/functions`, {
      headers: { authorization: `Bearer ${serve.token}` },
    });
    expect(admin.status).toBe(200);
    expect(admin.headers.get('connection')).not.toBe('close');
  });

  it('lets the admin in while strangers hold every slot (polling and slow headers, 80 addresses)', async () => {
    const port = Number(new URL(serve.control).port);
    const flood = attack(port);
    try {
      // the flood holds more connections than the cap before the admin comes
      await waitUntil('the flood to hold its connections', () => flood.health() >= POLLERS, 10_000).catch(
        () => undefined, // some of them suffice: the expectation says whether any got in
      );
      expect(flood.health()).toBeGreaterThan(0);
      let ok = 0;
      for (let i = 0; i < ADMIN_CALLS; i += 1) {
        if ((await call(`${serve.control}/v1/functions`, serve.token)) === 200) ok += 1;
      }
      expect(ok).toBeGreaterThanOrEqual(Math.ceil(ADMIN_CALLS * 0.95));
    } finally {
      flood.stop();
    }
  }, 60_000);
});
