/**
 * The data directory of the previous release (test/fixtures/datadir-v0.1.0.tar.gz, made by
 * scripts/make-datadir-fixture.mjs with that release's code), unpacked for a test, and what a test
 * checks on a platform started on it.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { extract } from 'tar';
import { expect } from 'vitest';
import type { ServeProcess } from './serve-process.js';
import { TMP_PREFIX } from './tmp.js';
import { waitFor } from './wait.js';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures');
export const FIXTURE = path.join(FIXTURES, 'datadir-v0.1.0.tar.gz');

export interface FixtureAbout {
  queued: { id: string; function: string; body: string }[];
}

export const about = JSON.parse(
  readFileSync(path.join(FIXTURES, 'datadir-v0.1.0.json'), 'utf8'),
) as FixtureAbout;

/**
 * Unpacks the fixture into a fresh temp folder. Its queued cast was due an hour after the fixture was
 * made and expires hours later: its times are moved to now, as if the old release had just stopped.
 */
export async function unpackFixture(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  await extract({ file: FIXTURE, cwd: dir });
  queuedDueNow(dir);
  return dir;
}

/** Moves the times of every queued invocation of a stopped data directory to now (due, not expired). */
export function queuedDueNow(dir: string): void {
  const db = new Database(path.join(dir, 'queue.db'));
  const now = Date.now();
  db.prepare("UPDATE invocations SET next_at = ?, expires_at = ? WHERE status = 'queued'").run(
    now,
    now + 3_600_000,
  );
  db.close();
}

/** Path → size, mtime and sha256 of every file below `dir` (for "left unchanged"). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const st = statSync(full);
    const hash = entry.isFile() ? createHash('sha256').update(readFileSync(full)).digest('hex') : 'dir';
    out[path.relative(dir, full)] = `${st.size} ${st.mtimeMs} ${st.mode} ${hash}`;
  }
  return out;
}

async function text(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
}

/**
 * Every function of the fixture answers, with its secret and state; the workflow is there; the
 * queued cast ran (fx-sink stored its body). `queuedIds`: the casts to wait for.
 */
export async function expectFixtureServed(serve: ServeProcess, queuedIds: string[]): Promise<void> {
  const auth = { authorization: `Bearer ${serve.token}` };
  const node = await text(`${serve.http}/fx-node`);
  expect(node.status).toBe(200);
  expect(JSON.parse(node.text)).toEqual({ fn: 'fx-node', secret: 'kept-secret', note: { kept: true } });
  expect(await text(`${serve.http}/fx-py`)).toEqual({ status: 200, text: 'fx-py v2' });
  expect(await text(`${serve.http}/fx-sh`)).toEqual({ status: 200, text: 'fx-sh ok' });
  const versions = await text(`${serve.control}/v1/functions/fx-py`, { headers: auth });
  expect(versions.status).toBe(200);
  expect(versions.text).toContain('"liveVersion":2');
  const flow = await text(`${serve.control}/v1/workflows/fx-flow`, { headers: auth });
  expect(flow.status).toBe(200);
  const bytes = await text(`${serve.control}/v1/functions/fx-sink/state/bytes`, { headers: auth });
  expect(bytes).toEqual({ status: 200, text: 'raw bytes' });
  for (const id of queuedIds) {
    await waitFor(
      `the queued invocation ${id} to run`,
      async () => {
        const res = await text(`${serve.control}/v1/invocations/${id}`, { headers: auth });
        const status = (JSON.parse(res.text) as { invocation?: { status: string } }).invocation?.status;
        if (status === 'failed' || status === 'expired') throw new Error(`${id} ${status}: ${res.text}`);
        return status === 'succeeded' ? true : undefined;
      },
      30_000,
    );
  }
  const got = await text(`${serve.control}/v1/functions/fx-sink/state/got`, { headers: auth });
  expect(got.status).toBe(200);
  expect(got.text).toContain('queued-in-v0');
}
