/**
 * Blind SSRF through async callbacks: `X-Callback-Url` pointed at this machine or its network must be
 * refused before anything is queued, a callback stored earlier must still not be sent there, and with
 * private destinations allowed a receiver gets exactly one POST whose redirect is not followed.
 */
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueStore } from '../../src/store/queue-store.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { errorCode, send, witness, type Witness } from '../helpers/witness.js';

interface View {
  id: string;
  status: string;
  callbackStatus: number | null;
}

async function record(p: TestPlatform, id: string): Promise<View> {
  const res = await p.api(`/v1/invocations/${id}`);
  return ((await res.json()) as { invocation: View }).invocation;
}

/** Polls until the invocation's callback has an outcome (bounded: 15 s). */
async function callbackDone(p: TestPlatform, id: string): Promise<View> {
  let view: View | undefined;
  return waitFor(
    () => `a callback outcome: ${JSON.stringify(view)}`,
    async () => {
      view = await record(p, id);
      return view.callbackStatus !== null ? view : undefined;
    },
    15_000,
  );
}

const count = async (p: TestPlatform): Promise<number> =>
  ((await (await p.api('/v1/invocations?limit=10000')).json()) as { invocations: unknown[] }).invocations
    .length;

const quiet = { executor: { warmPool: { node: 1, python: 0 } } };

describe('async callbacks by default', () => {
  let p: TestPlatform;
  let dataDir: string;
  let receiver: Witness;
  const seeded = randomUUID();

  beforeAll(async () => {
    receiver = await witness((res) => res.writeHead(204).end());
    dataDir = await makeDataDir();
    // a call accepted earlier (another configuration, an older version) with a loopback callback
    const store = new QueueStore(path.join(dataDir, 'queue.db'));
    store.accept({
      id: seeded,
      function: 'nosuch',
      trigger: 'async',
      method: 'POST',
      path: '/',
      query: '',
      headers: [],
      body: Buffer.alloc(0),
      host: 'localhost',
      maxRetries: 0,
      expiresAt: Date.now() + 60_000,
      callbackUrl: `http://127.0.0.1:${receiver.port}/seeded`,
    });
    store.close();
    p = await startPlatform({ dataDir, config: quiet });
    await p.deployAll({ echo: 'echo-cjs' });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    await receiver?.close();
    await removeDir(dataDir);
  });

  it('refuses callbacks to loopback, link-local, private and own addresses with 400 and queues nothing', async () => {
    const port = receiver.port;
    const urls = [
      `http://127.0.0.1:${port}/cb`,
      `http://[::1]:${port}/cb`,
      `http://localhost:${port}/cb`,
      `http://sub.localhost:${port}/cb`,
      `http://${os.hostname()}:${port}/cb`,
      `http://localhost.:${port}/cb`,
      `http://[::ffff:127.0.0.1]:${port}/cb`,
      `http://[::ffff:7f00:1]:${port}/cb`,
      `http://2130706433:${port}/cb`,
      `http://0x7f.1:${port}/cb`,
      `http://0.0.0.0:${port}/cb`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/cb',
      'http://10.0.0.1/cb',
      'http://172.16.0.1/cb',
      'http://192.168.1.1/cb',
      'http://100.64.0.1/cb',
      'http://[fd00::1]/cb',
      'http://user:pw@example.com/cb',
      'ftp://example.com/cb',
      'file:///etc/passwd',
      'not a url',
    ];
    const before = await count(p);
    for (const url of urls) {
      const res = await send(`${p.httpUrl}/echo`, {
        method: 'POST',
        headers: { 'x-skiff-async': 'true', 'x-callback-url': url },
        body: 'x',
      });
      expect(res.status, url).toBe(400);
      expect(errorCode(res), url).toBe('SKIFF_E_FORBIDDEN_DESTINATION');
    }
    expect(await count(p)).toBe(before);
    expect(receiver.hits.filter((h) => h !== 'POST /seeded')).toEqual([]);
  });

  it('refuses at delivery a stored callback to loopback: the receiver sees nothing', async () => {
    const done = await callbackDone(p, seeded);
    expect(done.status).toBe('failed');
    expect(done.callbackStatus).toBe(0);
    expect(receiver.hits).toEqual([]);
  });

  it('still accepts an async call without a callback', async () => {
    const res = await p.call('/echo', { method: 'POST', headers: { 'x-skiff-async': 'true' }, body: 'x' });
    expect(res.status).toBe(202);
  });
});

describe('async callbacks with outbound.allowPrivate', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform({ config: { ...quiet, outbound: { allowPrivate: true } } });
    await p.deployAll({ echo: 'echo-cjs' });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('POSTs exactly once to a local receiver and does not follow its 302', async () => {
    const target = await witness((res) => res.writeHead(204).end());
    const receiver = await witness((res) =>
      res.writeHead(302, { location: `http://127.0.0.1:${target.port}/moved` }).end(),
    );
    try {
      const res = await p.call('/echo', {
        method: 'POST',
        headers: { 'x-skiff-async': 'true', 'x-callback-url': `http://127.0.0.1:${receiver.port}/done` },
        body: 'x',
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      const done = await callbackDone(p, id);
      expect(done).toMatchObject({ status: 'succeeded', callbackStatus: 302 });
      expect(receiver.hits).toEqual(['POST /done']);
      expect(target.hits).toEqual([]);
    } finally {
      await Promise.all([target.close(), receiver.close()]);
    }
  });

  it('still refuses what is not http(s) or holds credentials', async () => {
    for (const url of ['ftp://127.0.0.1/cb', 'http://u:p@127.0.0.1/cb']) {
      const res = await p.call('/echo', {
        method: 'POST',
        headers: { 'x-skiff-async': 'true', 'x-callback-url': url },
        body: 'x',
      });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'SKIFF_E_FORBIDDEN_DESTINATION',
      );
    }
  });
});
