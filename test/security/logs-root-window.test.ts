/**
 * Red team (round two): `GET /v1/functions/{name}/logs?rootId=` (and `skiff logs --root`) promises the
 * chain's lines among a function's last 10 000 lines, but it reads only the last 1 MiB of the log file
 * (file-logs.ts tail): with lines near the 17 KiB message cap that is about 60 lines. A function in a
 * chain that logs 80 large lines afterwards (in another invocation; a few may be dropped by the log
 * rate cap) hides the chain's earlier lines from the chain view, though they are still in its log
 * file. Asserted: a chain's line followed by fewer than 100 lines is still found by `rootId`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform();
  await p.deployAll({ 'log-bulk': 'log-bulk' });
}, 60_000);

afterAll(async () => {
  const dir = p.dataDir;
  await p.stop();
  await removeDir(dir);
});

interface Line {
  message: string;
}

async function chainLines(rootId: string): Promise<Line[]> {
  const res = await p.api(`/v1/functions/log-bulk/logs?rootId=${rootId}&limit=1000`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { logs: Line[] }).logs;
}

describe('the rootId log filter', () => {
  it('finds a chain’s line among the function’s last 10 000 lines', async () => {
    const first = await p.call('/log-bulk/', { method: 'POST', body: '' });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const rootId = first.headers.get('x-skiff-invocation-id') ?? '';
    expect(rootId).not.toBe('');
    await waitFor(
      'the marker in the chain view',
      async () =>
        (await chainLines(rootId)).some((l) => l.message.includes('chain marker')) ? true : undefined,
      5_000,
    );
    const bulk = await p.call('/log-bulk/?n=80', { method: 'POST', body: '' });
    expect(bulk.status).toBe(200);
    await bulk.arrayBuffer();
    await waitFor(
      'the bulk lines in the log',
      async () => ((await p.logs('log-bulk')).some((l) => l.message.startsWith('bulk 7')) ? true : undefined),
      5_000,
    );
    const found = (await chainLines(rootId)).some((l) => l.message.includes('chain marker'));
    expect(found, 'the chain’s line, under 100 lines back, is missing from ?rootId=').toBe(true);
  }, 60_000);
});
