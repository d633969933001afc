/**
 * Red team of the executor API: a client with the key floods it with builds and commands. Each one is
 * a build sandbox (up to the build limits: a GiB of memory, a CPU); without a cap on how many run at
 * once, a burst of them takes the host from every other tenant. They must queue instead, and all finish.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, OK_FUNCTION, startExecutor, type Executor } from './or-exec-client.js';

let e: Executor;

beforeAll(async () => {
  e = await startExecutor();
  const source = await e.source('functions/f/code.tar.gz', OK_FUNCTION);
  const res = await e.call('/runtimes', {
    method: 'POST',
    json: { runtimeId: 'f', image: NODE_IMAGE, source },
  });
  expect(res.status, await res.text()).toBe(201);
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

/** Processes of the host running `sleep 1.4321`. */
function sleeping(): number {
  try {
    return execFileSync('pgrep', ['-f', '^sleep 1.4321$'], { encoding: 'utf8' }).trim().split('\n').length;
  } catch {
    return 0;
  }
}

describe('a burst of commands', () => {
  it('runs a bounded number at once and finishes them all', async () => {
    const cap = Math.max(2, os.availableParallelism());
    const count = cap + 6;
    let most = 0;
    let done = false;
    const watch = (async () => {
      while (!done) {
        most = Math.max(most, sleeping());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const replies = await Promise.all(
      Array.from({ length: count }, async () => {
        const res = await e.call('/runtimes/f/commands', {
          method: 'POST',
          json: { command: 'sleep 1.4321' },
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    done = true;
    await watch;
    expect(replies).toEqual(Array.from({ length: count }, () => 200));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(cap);
  }, 60_000);
});
