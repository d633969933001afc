/**
 * What the build attack tests share: host processes by command line, a boolean waitUntil, a deploy
 * watched from the host while its probe waits, host files as link targets, and the probe's report.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { TestPlatform } from '../../helpers/platform.js';
import { waitUntil } from '../../helpers/wait.js';

export interface Failure {
  error: { code: string; message: string; details?: { buildLog?: string } };
}

/** Host processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Whether `check` holds within `withinMs` (5 s): waitUntil, as a boolean for an expectation. */
export async function eventually(check: () => boolean, withinMs = 5_000): Promise<boolean> {
  return waitUntil('the check', check, withinMs).then(
    () => true,
    () => check(),
  );
}

/**
 * Runs a deploy whose probe waits at a handshake in its work folder: while it waits, the host uids of
 * the processes whose command line holds `marker` are read; then the probe goes on.
 */
export async function deployWatching(
  p: TestPlatform,
  deploy: () => Promise<Response>,
  marker: string,
): Promise<{ res: Response; uids: string[] }> {
  const staging = path.join(p.dataDir, 'staging');
  const pending = deploy();
  let ready: string | undefined;
  const found = await eventually(() => {
    ready = readdirSync(staging)
      .map((id) => path.join(staging, id))
      .find((dir) => existsSync(path.join(dir, '.probe-ready')));
    return ready !== undefined;
  }, 20_000);
  const uids: string[] = [];
  if (found && ready !== undefined) {
    for (const pid of processesWith(marker)) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      uids.push(...(/^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/) ?? []));
    }
    await writeFile(path.join(ready, '.probe-go'), '');
  }
  return { res: await pending, uids };
}

/** A root-owned (or `uid`-owned) setuid host file; returns its path. */
export function hostFile(uid = 0): string {
  const file = path.join(os.tmpdir(), `skiff-target-${randomBytes(6).toString('hex')}`);
  writeFileSync(file, 'host\n');
  chownSync(file, uid, uid);
  // chown clears set-id bits: set them after
  chmodSync(file, 0o4755);
  return file;
}

/** The SKIFF-PROBE report a probe printed into the build log. */
export function probeOf(log: string): Record<string, string> {
  const match = /SKIFF-PROBE (\{.*\})/.exec(log);
  expect(match, log).not.toBeNull();
  return JSON.parse(match?.[1] ?? '{}') as Record<string, string>;
}

/** Owner and mode of host files, to compare before and after a deploy. */
export function ownership(files: string[]): { file: string; uid: number; gid: number; mode: string }[] {
  return files.map((file) => {
    const st = lstatSync(file);
    return { file, uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) };
  });
}
