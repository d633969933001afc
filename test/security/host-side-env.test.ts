/**
 * An instance's host side (bash running enter.sh, then setpriv and bubblewrap, as the platform's
 * user) must not read the function's environment: BASH_ENV would make that bash source a file of the
 * function's choosing on the host, LD_PRELOAD would load a library into it. The function's variables
 * reach only the sandbox. The function below is started cold (its memory limit is not the default, so
 * no warm-pool process serves it), the path on which its variables once reached the host side.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let scratch: string;

beforeAll(async () => {
  p = await startPlatform();
  scratch = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
}, 60_000);

afterAll(async () => {
  await p?.stop();
  if (scratch !== undefined) await removeDir(scratch);
  if (p !== undefined) await removeDir(p.dataDir);
});

describe("an instance's host side", () => {
  it("reads none of the function's variables (BASH_ENV, LD_PRELOAD), and the function still gets them", async () => {
    const marker = path.join(scratch, 'pwned');
    const script = path.join(scratch, 'env.sh');
    await writeFile(script, `touch '${marker}'\n`);
    await chmod(script, 0o755);
    const dir = path.join(scratch, 'fn');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await writeFile(
      path.join(dir, 'index.mjs'),
      'export default () => ({ bashEnv: process.env.BASH_ENV, preload: process.env.LD_PRELOAD ?? null });\n',
    );
    await writeFile(
      path.join(dir, 'skiff.json'),
      JSON.stringify({
        runtime: 'node',
        limits: { memoryMb: 200 },
        // LD_PRELOAD names no file: a loader on the host would only complain, the sandbox's too
        env: { BASH_ENV: script, LD_PRELOAD: '/nonexistent/preload.so' },
      }),
    );
    const res = await p.deploy('hostenv', dir);
    expect(res.status, await res.text()).toBe(201);
    const call = await p.call('/hostenv');
    expect(call.status).toBe(200);
    expect(await call.json()).toEqual({ bashEnv: script, preload: '/nonexistent/preload.so' });
    expect(existsSync(marker), 'BASH_ENV sourced on the host').toBe(false);
  }, 60_000);
});
