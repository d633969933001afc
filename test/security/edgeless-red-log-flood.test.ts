/**
 * Red team, hostile GUEST: every host request with an alias its workflow does not map (and every
 * CastRaw to an unknown id, every failed host Call) writes a warning into the PLATFORM's own log, at
 * the rate the guest sends them. The member's function log is rate-limited (FileLogStore), the
 * operator's log is not: a guest floods stdout/journald at gRPC speed, and buries what else the
 * platform has to say. Runs the real `skiff serve --edgeless` to read its output.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, TMP_PREFIX } from '../helpers/platform.js';
import { exited, spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

const FLOOD = 2000;
/** Generous: one warning per second of flood, and a summary, would be far below it. */
const MAX_LINES = 200;
let serve: ServeProcess | undefined;
let guest: HostileGuest | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  if (serve !== undefined) {
    serve.child.kill('SIGTERM');
    await exited(serve.child);
  }
  await guest?.close();
  if (dataDir !== undefined) await removeDir(dataDir);
});

describe("EDGELESS red team: the platform's log and a guest's unmapped aliases", () => {
  it(`${FLOOD} casts to an unmapped alias write at most ${MAX_LINES} lines to the platform log`, async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    guest = await startHostileGuest();
    serve = await spawnServe(dataDir, { args: ['--edgeless'], stdio: ['ignore', 'pipe', 'pipe'] });
    let warnings = 0;
    let pending = '';
    const read = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      warnings += lines.filter((l) => l.includes('unknown alias')).length;
    };
    // pino may write to either stream: both are read (an unread pipe would also stall the platform)
    serve.child.stdout?.on('data', read);
    serve.child.stderr?.on('data', read);
    const res = await fetch(`${serve.control}/v1/workflows/w`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serve.token}` },
      body: JSON.stringify(attachWorkflow(guest.url)),
    });
    expect(res.status).toBe(201);
    await waitFor('Init', () => guest?.seen.find((s) => s.method === 'Init'));
    const id = guest.boot()?.id;
    for (let i = 0; i < FLOOD / 100; i++) {
      await Promise.all(
        Array.from({ length: 100 }, () =>
          guest
            ?.host('Cast', { originator: id, alias: 'nowhere', msg: Buffer.from('x') })
            .catch(() => undefined),
        ),
      );
    }
    // give the platform a moment to write what it was sent
    await waitFor('the flood logged', () => (warnings >= FLOOD ? true : undefined), 5_000).catch(
      () => undefined,
    );
    expect(
      warnings,
      `${warnings} "unknown alias" lines in the platform log for ${FLOOD} requests`,
    ).toBeLessThanOrEqual(MAX_LINES);
  });
});
