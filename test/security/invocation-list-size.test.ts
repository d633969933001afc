/**
 * Red team: `GET /v1/invocations` (and `skiff invocation list`) returns every listed record whole, the
 * result body included (base64), up to limit=10000 records. A function that casts to a target answering
 * with big bodies (up to functions.maxResponseBytes, 6 MiB, each kept for a day within
 * async.retention.maxBytes, 1 GiB) makes the list answer grow to the whole retained queue: 1 GiB of
 * results is ~1.4 GB of JSON, built in the platform's memory (past V8's longest string it cannot be
 * built at all). Asserted at a small scale: a list of 12 records whose results are 1 MiB each answers
 * with less than 1 MiB (a list should carry no result bodies, or a bounded page of them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;
const N = 12;

beforeAll(async () => {
  p = await startPlatform({ config: { async: { concurrency: 2 } } });
  await p.deployAll({ caster: 'cast-node', 'big-result': 'big-result' });
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

describe('the invocation list', () => {
  it('stays small when the listed casts answered with big bodies', async () => {
    const res = await p.call(`/caster/fanout?n=${N}&to=big-result`, { method: 'POST', body: '' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await waitFor(
      `${N} casts to succeed`,
      async () => {
        const r = await p.api('/v1/invocations?function=big-result&status=succeeded&limit=100');
        const text = await r.text();
        const n = (JSON.parse(text) as { invocations: unknown[] }).invocations.length;
        return n === N ? true : undefined;
      },
      60_000,
    );
    const list = await p.api('/v1/invocations?limit=10000');
    expect(list.status).toBe(200);
    const bytes = (await list.arrayBuffer()).byteLength;
    expect(bytes, `list of ${N} records answered ${bytes} bytes`).toBeLessThan(1024 * 1024);
  }, 90_000);
});
