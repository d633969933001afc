/**
 * Red team 2, hostile TENANT applying workflows: taking over another workflow's attached instance.
 *
 * "One URL is one member's: a second attachment of it, in the workflow or another, is refused"
 * (docs/security.md). The check compares the URL as a string after WHATWG normalisation
 * (`http://127.0.0.1:P`), so `grpc:http://localhost:P` (or any other name or loopback address of the
 * same process) is another URL. Workflow `wb` attaches workflow `wa`'s guest that way: Skiff boots the
 * guest again with `wb`'s host listener and id, and from then on everything the guest sends while
 * handling `wa`'s events goes through `wb`'s mapping: `wa`'s data lands in `wb`'s file-log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EDGELESS_ON,
  Guest,
  castOverHttp,
  edgelessWorkflow,
  fileLogLines,
  memberName,
  putWorkflow,
  stopGuests,
} from '../helpers/edgeless-guests.js';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

let platform: TestPlatform;
let guest: Guest | undefined;

beforeAll(async () => {
  platform = await startPlatform({ config: EDGELESS_ON as never });
  guest = await Guest.start();
}, 30_000);

afterAll(async () => {
  await stopGuests([guest]);
  await platform.stop();
  await removeDir(platform.dataDir);
});

describe('red2: one guest attached under two URLs', () => {
  it("does not let a second workflow take over the first one's instance", async () => {
    const g = guest!;
    const port = new URL(g.code.slice('grpc:'.length)).port;
    const wa = edgelessWorkflow(
      [{ name: 'a', guest: g, mapping: { output: 'alog' } }],
      [{ name: 'alog', filename: 'a.log' }],
    );
    expect((await putWorkflow(platform, 'wa', wa)).status).toBe(201);
    await g.booted();

    const from = g.mark();
    const wb = edgelessWorkflow(
      [{ name: 'b', code: `grpc:http://localhost:${port}`, mapping: { output: 'blog' } }],
      [{ name: 'blog', filename: 'b.log' }],
    );
    const second = await putWorkflow(platform, 'wb', wb);
    const answer = await second.text();
    if (second.status === 201) {
      // the guest is booted again, now as wb's instance
      await g.booted(from);
    }
    // wa's event: the guest waits a second, then casts it to its alias `output`
    await castOverHttp(platform, memberName('wa', 'a'), 'secret-of-wa');
    const leaked = await waitFor(
      'the guest to send its output somewhere',
      async () => {
        const a = await fileLogLines(platform, 'wa', 'a.log');
        const b = await fileLogLines(platform, 'wb', 'b.log');
        return a.length + b.length > 0 ? b : undefined;
      },
      15_000,
    );
    expect(
      leaked,
      `wa's event went to wb's file-log (the second apply answered ${second.status} ${answer.slice(0, 300)})`,
    ).toEqual([]);
    expect(await fileLogLines(platform, 'wa', 'a.log')).toHaveLength(1);
  }, 60_000);
});
