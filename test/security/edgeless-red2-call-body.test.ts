/**
 * Red team 2, hostile GUEST: host Calls past the limits a function's calls have.
 *
 * A Skiff function's `ctx.call` body is refused over `http.maxBodyBytes` (the executor's call desk,
 * SKIFF_E_PAYLOAD_TOO_LARGE), as a cast is over `async.maxBodyBytes`. The EDGELESS host `Call` goes
 * to the same call rail (`FunctionCalls.call`) without that check: a guest hands its targets bodies
 * up to the listener's 8 MiB message cap, whatever the platform's request limit (and, with 32
 * streams on each of 16 connections, 512 such calls at once per instance, where a function instance
 * has its call desk's cap). Here with `http.maxBodyBytes` at 64 KiB: a 1 MiB host Call to a file-log
 * member is written whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Guest,
  HostClient,
  applyWorkflow,
  edgelessWorkflow,
  fileLogPath,
  stopGuests,
} from '../helpers/edgeless-guests.js';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { stat } from 'node:fs/promises';

let platform: TestPlatform;
let guest: Guest | undefined;
let host: HostClient | undefined;

beforeAll(async () => {
  platform = await startPlatform({
    config: { compat: { edgeless: { enabled: true } }, http: { maxBodyBytes: 64 * 1024 } } as never,
  });
  guest = await Guest.start();
}, 30_000);

afterAll(async () => {
  host?.close();
  await stopGuests([guest]);
  await platform.stop();
  await removeDir(platform.dataDir);
});

describe('red2: a host Call with a body over http.maxBodyBytes', () => {
  it('is refused as a function call of that size is', async () => {
    const g = guest!;
    const workflow = edgelessWorkflow(
      [{ name: 'x', guest: g, mapping: { output: 'alog' } }],
      [{ name: 'alog', filename: 'a.log' }],
    );
    await applyWorkflow(platform, 'wf', workflow);
    const { boot } = await g.booted();
    host = new HostClient(boot.endpoint ?? '');
    const ret = (await host.unary('Call', {
      originator: boot.instance_id,
      alias: 'output',
      msg: Buffer.alloc(1024 * 1024, 0x61),
    })) as { type: string };
    const written = (await stat(fileLogPath(platform, 'wf', 'a.log')).catch(() => undefined))?.size ?? 0;
    expect({ type: ret.type, written }).toEqual({ type: 'CALL_RET_ERR', written: 0 });
  }, 60_000);
});
