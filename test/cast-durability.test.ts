/**
 * A cast fan-out of 100 from one function (docs/guarantees.md, casts): every cast runs exactly once when
 * nothing crashes, and at least once, none lost, when the platform is killed with SIGKILL in the middle
 * of the fan-out and started again on the same data directory. The receiving function reports every run
 * of a payload to a ledger in this process; the duplicates after the kill are counted and reported.
 */
import { cp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, makeDataDir, removeDir } from './helpers/platform.js';
import { deployTo, exited, spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { waitUntil } from './helpers/wait.js';

const FANOUT = 100;

// Durability is the queue's business, not the sandbox's: plain processes here, so that the receiving
// function reaches the ledger on the shared loopback (as in test/async-durability.test.ts).
const startServe = (dataDir: string) =>
  spawnServe(dataDir, { args: ['--log-level', 'warn', '--sandbox', 'none'] });

describe('a cast fan-out of 100', () => {
  const cleanup: (() => Promise<void>)[] = [];
  /** Runs per payload, as the receiving function reported them. */
  const seen = new Map<string, number>();
  let ledgerUrl = '';

  beforeAll(async () => {
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
    ledgerUrl = `http://127.0.0.1:${(ledger.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  /** A platform on a new data dir with cast-node and cast-sink (reporting to the ledger) deployed. */
  async function platformWithFunctions(
    sinkSleepMs: number,
  ): Promise<{ dataDir: string; serve: ServeProcess }> {
    const dataDir = await makeDataDir();
    const sinkDir = await makeDataDir();
    cleanup.push(
      () => removeDir(dataDir),
      () => removeDir(sinkDir),
    );
    await cp(fixture('cast-sink'), sinkDir, { recursive: true });
    await writeFile(
      path.join(sinkDir, 'skiff.json'),
      JSON.stringify({
        runtime: 'node',
        network: 'outbound',
        env: { LEDGER_URL: ledgerUrl, SLEEP_MS: String(sinkSleepMs) },
      }),
    );
    await writeFile(
      path.join(dataDir, 'skiff.config.json'),
      JSON.stringify({ async: { concurrency: 8, retryBaseMs: 100 } }),
    );
    const serve = await startServe(dataDir);
    cleanup.push(async () => {
      serve.child.kill('SIGTERM');
      await exited(serve.child);
    });
    for (const [name, dir] of [
      ['cast-node', fixture('cast-node')],
      ['cast-sink', sinkDir],
    ] as const) {
      const put = await deployTo(serve, name, dir);
      expect(put.status, put.text).toBe(201);
    }
    return { dataDir, serve };
  }

  const runsOf = (prefix: string): number[] =>
    Array.from({ length: FANOUT }, (_, i) => seen.get(`${prefix}${i}`) ?? 0);

  it('runs every cast exactly once when nothing crashes', async () => {
    const { serve } = await platformWithFunctions(0);
    const res = await fetch(`${serve.http}/cast-node/fanout?n=${FANOUT}&to=cast-sink&prefix=once-`, {
      method: 'POST',
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const { ids } = JSON.parse(text) as { ids: string[] };
    expect(new Set(ids).size).toBe(FANOUT);
    await waitUntil('every payload to run', () => runsOf('once-').every((n) => n >= 1), 60_000);
    // the queue has nothing left that could run one again
    await waitUntil('the queue to be idle', async () => {
      const list = await fetch(`${serve.control}/v1/invocations?function=cast-sink&limit=1000`, {
        headers: { authorization: `Bearer ${serve.token}` },
      });
      const { invocations } = (await list.json()) as { invocations: { status: string }[] };
      return invocations.length === FANOUT && invocations.every((i) => i.status === 'succeeded');
    });
    expect(runsOf('once-')).toEqual(Array.from({ length: FANOUT }, () => 1));
  }, 120_000);

  it('loses none across a SIGKILL of the platform mid-fan-out (duplicates counted)', async () => {
    // a slow receiver, so that casts are still queued and running when the platform dies
    const { dataDir, serve: first } = await platformWithFunctions(40);
    let serve = first;
    // the fan-out itself is an async invocation: one the kill cut short runs again after the restart
    const res = await fetch(`${serve.http}/cast-node/fanout?n=${FANOUT}&to=cast-sink&prefix=kill-`, {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
    });
    expect(res.status).toBe(202);
    await waitUntil('a tenth of the casts to run', () => runsOf('kill-').filter((n) => n > 0).length >= 10);
    serve.child.kill('SIGKILL');
    await exited(serve.child);
    const ranBeforeKill = runsOf('kill-').filter((n) => n > 0).length;
    serve = await startServe(dataDir);
    const restarted = serve;
    cleanup.push(async () => {
      restarted.child.kill('SIGTERM');
      await exited(restarted.child);
    });
    await waitUntil(
      () => `every payload to run (missing: ${runsOf('kill-').filter((n) => n === 0).length})`,
      () => runsOf('kill-').every((n) => n >= 1),
      90_000,
    );
    const runs = runsOf('kill-');
    const duplicates = runs.reduce((sum, n) => sum + n - 1, 0);
    console.info(
      `cast fan-out across SIGKILL: ${FANOUT} payloads, ${ranBeforeKill} had run before the kill, ` +
        `all ran at least once, ${duplicates} duplicate runs (${runs.filter((n) => n > 1).length} payloads ran more than once)`,
    );
    expect(runs.every((n) => n >= 1)).toBe(true);
  }, 180_000);
});
