/**
 * Red team, anonymous NETWORK CLIENT: every `file-log` resource is served on the gateway as a public
 * name (`private: false`, no token), so anyone who reaches the function port appends lines of their
 * choosing to the workflow's log file (forged entries, no source). And a file that reaches
 * compat.edgeless.maxFileLogBytes drops every later event for good, so one anonymous request of the
 * cap's size silences the log: what the workflow's own instances send afterwards is lost. Upstream
 * resources are reachable only through a workflow's output mappings.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

const CAP = 4096;
let platform: TestPlatform;
let guest: HostileGuest;

beforeAll(async () => {
  guest = await startHostileGuest();
  platform = await startPlatform({
    config: { compat: { edgeless: { enabled: true, maxFileLogBytes: CAP } } } as never,
  });
  const res = await platform.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(guest.url)),
  });
  expect(res.status).toBe(201);
  await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
});

afterAll(async () => {
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe("EDGELESS red team: a workflow's file log on the public gateway", () => {
  it('an anonymous gateway client can neither forge lines in the log nor silence it', async () => {
    // no token, no workflow: just the function port
    const forged = await platform.call('/w--audit', { method: 'POST', body: Buffer.alloc(CAP - 10, 0x46) });
    await forged.arrayBuffer();
    // the workflow's own instance then sends its output to the log
    await guest.host('Cast', {
      originator: guest.boot()?.id,
      alias: 'output',
      msg: Buffer.from('legit-event'),
    });
    const file = path.join(platform.dataDir, 'edgeless', 'file-log', 'w', 'audit.log');
    const text = await waitFor(
      'the legit line',
      async () => {
        const t = await readFile(file, 'utf8').catch(() => '');
        return t.includes('legit-event') ? t : undefined;
      },
      5_000,
    ).catch(() => readFile(file, 'utf8').catch(() => ''));
    expect(
      {
        anonymousWrite: forged.status,
        forgedLine: text.includes('FFFF'),
        legitLine: text.includes('legit-event'),
      },
      'an anonymous client wrote into the workflow log and filled it, and the instance output was dropped',
    ).toEqual({ anonymousWrite: expect.any(Number) as number, forgedLine: false, legitLine: true });
  });
});
