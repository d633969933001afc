/**
 * Red team of the executor API: a client's `variables` are the build's environment, and must be so
 * only inside the build sandbox. The host-side launcher of a build step (bash running enter.sh, then
 * bwrap found on PATH) must not read them: with BASH_ENV the launcher's bash would source a file of
 * the client's choosing on the host, with PATH it would run the client's own `bwrap`. The client
 * can place such files: it shares the storage root.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, OK_FUNCTION, startExecutor, type Executor } from './or-exec-client.js';

let e: Executor;
let source: string;

beforeAll(async () => {
  e = await startExecutor();
  source = await e.source('functions/env/code.tar.gz', OK_FUNCTION);
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

/** A script in the storage root that leaves `marker` on the host when the host runs it. */
async function hostScript(name: string, marker: string): Promise<string> {
  const file = path.join(e.storageRoot, 'evil', name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\ntouch '${marker}'\nexec /usr/bin/bwrap "$@"\n`);
  await chmod(file, 0o755);
  return file;
}

describe('a client whose variables aim at the host side of the build sandbox', () => {
  it('BASH_ENV and PATH in variables run nothing on the host (create and commands)', async () => {
    const marker = (n: string) => path.join(e.p.dataDir, `pwned-${n}`);
    const bashEnv = await hostScript('env.sh', marker('bashenv'));
    await hostScript('bwrap', marker('path'));
    const variables = { BASH_ENV: bashEnv, PATH: `${path.join(e.storageRoot, 'evil')}:/usr/bin:/bin` };
    const created = await e.call('/runtimes', {
      method: 'POST',
      json: { runtimeId: 'envrt', image: NODE_IMAGE, source, command: 'true', variables },
    });
    const command = await e.call('/runtimes/envrt/commands', {
      method: 'POST',
      json: { command: 'true' },
    });
    expect(existsSync(marker('bashenv')), 'BASH_ENV sourced on the host').toBe(false);
    expect(existsSync(marker('path')), "the client's bwrap run on the host").toBe(false);
    expect(created.status, await created.text()).toBe(201);
    expect(command.status, await command.text()).toBe(200);
  }, 60_000);
});
