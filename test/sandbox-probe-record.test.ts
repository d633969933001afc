import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform } from './helpers/platform.js';

const REAL_BWRAP = execFileSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).trim();
const folders: string[] = [];

/**
 * A bubblewrap that notes each launch in `log` and runs the real one: the sandboxes' host users run
 * it too (the probe through setpriv), so the folder, the script and the log are theirs to use.
 */
async function loggingBwrap(): Promise<{ bwrap: string; log: string; probes: () => number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-probe-'));
  folders.push(dir);
  chmodSync(dir, 0o755);
  const bwrap = path.join(dir, 'bwrap');
  const log = path.join(dir, 'launches.log');
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  writeFileSync(bwrap, `#!/bin/sh\necho "$*" >> ${log}\nexec ${REAL_BWRAP} "$@"\n`);
  chmodSync(bwrap, 0o755);
  // a probe's sandbox runs /bin/true; instances run the bridges
  const probes = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.endsWith(' /bin/true')).length;
  return { bwrap, log, probes };
}

afterAll(async () => {
  for (const dir of folders) await removeDir(dir);
});

describe('the record of passed sandbox probes', () => {
  it('spares a restart the probes, and a changed bubblewrap is probed (and refused) again', async () => {
    const dataDir = await makeDataDir();
    folders.push(dataDir);
    const { bwrap, probes } = await loggingBwrap();
    const config = { sandbox: { bwrap } };

    const first = await startPlatform({ dataDir, config });
    await first.stop();
    const probedAtFirst = probes();
    expect(probedAtFirst).toBeGreaterThan(0);
    expect(existsSync(path.join(dataDir, 'sandbox', 'probed.json'))).toBe(true);

    // the same machine, binaries and arguments: no probe launched
    const second = await startPlatform({ dataDir, config });
    await second.stop();
    expect(probes()).toBe(probedAtFirst);

    // another bubblewrap (here: one that cannot make a sandbox) is probed again, and refuses the start
    writeFileSync(bwrap, '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n');
    await expect(startPlatform({ dataDir, config })).rejects.toMatchObject({
      code: 'SKIFF_E_SANDBOX_UNAVAILABLE',
    });
  });

  it('is not trusted when it was made for another machine state', async () => {
    const dataDir = await makeDataDir();
    folders.push(dataDir);
    const { bwrap, probes } = await loggingBwrap();
    const first = await startPlatform({ dataDir, config: { sandbox: { bwrap } } });
    await first.stop();
    const record = path.join(dataDir, 'sandbox', 'probed.json');
    const made = JSON.parse(readFileSync(record, 'utf8')) as { key: string };
    // a record from another boot or another Skiff: its key differs, the probes run and record anew
    writeFileSync(record, JSON.stringify({ key: 'another boot', outbound: true }));
    const before = probes();
    const second = await startPlatform({ dataDir, config: { sandbox: { bwrap } } });
    await second.stop();
    expect(probes()).toBeGreaterThan(before);
    expect((JSON.parse(readFileSync(record, 'utf8')) as { key: string }).key).toBe(made.key);
  });
});
