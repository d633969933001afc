import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor } from './helpers/wait.js';

/**
 * The Node bridge writes its frames once per turn of the event loop (runtimes/shared/connection.ts);
 * what it queued when its process ends must still leave, e.g. the LOG of the line a handler wrote
 * right before an uncaught error ended the instance.
 */
describe('frames queued when a Node instance ends', () => {
  let p: TestPlatform;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    p = await startPlatform({ dataDir });
    await p.deployAll({ 'last-words': 'last-words' });
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
    await removeDir(dataDir);
  });

  it('still sends the LOG written in the turn an uncaught error ends the instance in', async () => {
    const res = await p.call('/last-words');
    expect(res.status).toBe(502);
    await waitFor('the last line in the logs', async () =>
      (await p.logs('last-words')).find((l) => l.message === 'last words'),
    );
  });
});
