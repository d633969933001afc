/**
 * "Nothing lost" (docs/guarantees.md G1 and G2): 1000 async invocations while the platform is killed
 * with SIGKILL twice and restarted. The function reports every delivery to a ledger in this process;
 * every accepted id must reach exactly one terminal state, and the ledger must have seen each one.
 */
import { cp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packDirectory } from '../src/store/archive/pack.js';
import { fixture, makeDataDir, removeDir } from './helpers/platform.js';
import { exited, spawnServe } from './helpers/serve-process.js';
import { waitUntil } from './helpers/wait.js';

const TOTAL = 1000;
const CLIENTS = 16;
const ASYNC_CONCURRENCY = 32;

// Durability is the queue's business, not the sandbox's: the platform runs its functions as plain
// processes here, so that the ledger function reaches this process on the shared loopback (a sandboxed
// function with network "outbound" has a loopback of its own, see docs/security.md).
const startServe = (dataDir: string) =>
  spawnServe(dataDir, { args: ['--log-level', 'warn', '--sandbox', 'none'] });

describe('async invocations across SIGKILL', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('loses nothing: every accepted id ends in one terminal state and ran at least once', async () => {
    // the ledger: ids the function saw, with how often
    const seen = new Map<string, number>();
    const ledger = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.set(body, (seen.get(body) ?? 0) + 1);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => ledger.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => ledger.close(() => resolve())));
    const ledgerUrl = `http://127.0.0.1:${(ledger.address() as AddressInfo).port}/`;

    const dataDir = await makeDataDir();
    const fnDir = await makeDataDir();
    cleanup.push(
      () => removeDir(dataDir),
      () => removeDir(fnDir),
    );
    await cp(fixture('ledger'), fnDir, { recursive: true });
    await writeFile(
      path.join(fnDir, 'skiff.json'),
      JSON.stringify({ network: 'outbound', env: { LEDGER_URL: ledgerUrl } }),
    );
    await writeFile(
      path.join(dataDir, 'skiff.config.json'),
      JSON.stringify({ async: { concurrency: ASYNC_CONCURRENCY, retryBaseMs: 100 } }),
    );

    let platform = await startServe(dataDir);
    cleanup.push(async () => {
      platform.child.kill('SIGTERM');
      await exited(platform.child);
    });
    const put = await fetch(`${platform.control}/v1/functions/ledger`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${platform.token}`, 'content-type': 'application/gzip' },
      body: await packDirectory(fnDir),
    });
    expect(put.status, await put.text()).toBe(201);

    // clients submit until 1000 are accepted; the platform is killed at two random points
    const accepted = new Set<string>();
    const killAt = [200 + Math.floor(Math.random() * 200), 550 + Math.floor(Math.random() * 250)];
    let restarting: Promise<void> | undefined;
    let kills = 0;
    const deadline = Date.now() + 120_000;
    const client = async (): Promise<void> => {
      while (accepted.size < TOTAL && Date.now() < deadline) {
        if (restarting !== undefined) await restarting;
        if (
          kills < killAt.length &&
          accepted.size >= (killAt[kills] ?? Infinity) &&
          restarting === undefined
        ) {
          kills++;
          restarting = (async () => {
            platform.child.kill('SIGKILL');
            await exited(platform.child);
            platform = await startServe(dataDir);
          })().finally(() => {
            restarting = undefined;
          });
          continue;
        }
        try {
          const res = await fetch(`${platform.http}/ledger`, {
            method: 'POST',
            headers: { 'x-skiff-async': 'true' },
            body: 'x',
          });
          const body = (await res.json()) as { id?: string };
          if (res.status === 202 && body.id !== undefined) accepted.add(body.id);
        } catch {
          // the platform was killed under this request: it was not accepted
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    expect(kills).toBe(2);
    expect(accepted.size).toBeGreaterThanOrEqual(TOTAL);

    // every accepted id reaches a terminal state
    type View = { id: string; status: string; attempts: number };
    const all = async (): Promise<View[]> => {
      const res = await fetch(`${platform.control}/v1/invocations?limit=10000`, {
        headers: { authorization: `Bearer ${platform.token}` },
      });
      return ((await res.json()) as { invocations: View[] }).invocations;
    };
    let records: View[] = [];
    await waitUntil(
      'every record to be final',
      async () => {
        records = await all();
        return !records.some((r) => r.status === 'queued' || r.status === 'running');
      },
      60_000,
    ).catch(() => undefined); // the expectations below say what is missing
    const byId = new Map(records.map((r) => [r.id, r]));
    const lost = [...accepted].filter((id) => !byId.has(id));
    expect(lost).toEqual([]);
    const notFinal = [...accepted].filter((id) => byId.get(id)?.status !== 'succeeded');
    expect(notFinal.map((id) => byId.get(id))).toEqual([]);
    // the function saw every accepted id at least once; duplicates only from attempts cut by a kill
    const unseen = [...accepted].filter((id) => !seen.has(id));
    expect(unseen).toEqual([]);
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThanOrEqual(2 * ASYNC_CONCURRENCY);
  }, 240_000);
});
