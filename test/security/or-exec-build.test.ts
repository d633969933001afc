/**
 * Red team of the executor API: a hostile build (the client's build `command` in the build sandbox).
 * - an artifact larger than the platform accepts is refused as the build's failure, before it is
 *   packed into memory or written to the storage root (it used to be packed whole, in memory, and
 *   stored, and only the deploy refused it);
 * - an `outputDirectory` that is a symbolic link out of the code is refused; links inside the
 *   output are left out of the artifact;
 * - a daemon the build forked does not outlive the build.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, OK_FUNCTION, startExecutor, type Executor } from './or-exec-client.js';

const MAX_UPLOAD = 8 * 1024 * 1024;
let e: Executor;
let source: string;

beforeAll(async () => {
  // a smaller upload cap than the default, so the oversized artifact is quick to make
  e = await startExecutor({}, { build: { maxUploadBytes: MAX_UPLOAD } });
  source = await e.source('functions/b/code.tar.gz', OK_FUNCTION);
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

async function create(runtimeId: string, extra: Record<string, unknown>) {
  const res = await e.call('/runtimes', {
    method: 'POST',
    json: { runtimeId, image: NODE_IMAGE, source, ...extra },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Every file below `dir` with its size. */
async function files(dir: string): Promise<{ file: string; size: number }[]> {
  const out: { file: string; size: number }[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push({ file, size: (await stat(file)).size });
  }
  return out;
}

/** The entry names of a tar (plain) buffer. */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(
      header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0',
      8,
    );
    names.push(prefix === '' ? name : `${prefix}/${name}`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

describe('a hostile build', () => {
  it('an artifact over the upload limit is the build failure and is not stored', async () => {
    const before = new Set((await files(e.storageRoot)).map((f) => f.file));
    const reply = await create('big', {
      command: `head -c ${40 * 1024 * 1024} /dev/urandom > blob && true`,
      destination: '/builds/big',
    });
    expect(reply.status, JSON.stringify(reply.body).slice(0, 300)).toBe(400);
    expect(reply.body['type']).toBe('build_failed');
    const stored = (await files(e.storageRoot)).filter((f) => !before.has(f.file));
    expect(stored.filter((f) => f.size > MAX_UPLOAD)).toEqual([]);
  }, 60_000);

  it('an outputDirectory linking out of the code is refused; links in the output are left out', async () => {
    const out = await create('linkout', { command: 'ln -s / out', outputDirectory: 'out' });
    expect(out.status).toBe(400);
    expect(out.body['type']).toBe('build_failed');
    const inside = await create('linkin', {
      command: 'mkdir -p dist && ln -s /etc/passwd dist/passwd && ln -s / dist/root && cp index.js dist/',
      outputDirectory: 'dist',
      destination: '/builds/linkin',
      variables: { OPEN_RUNTIMES_BUILD_COMPRESSION: 'none' },
      remove: true,
    });
    expect(inside.status, JSON.stringify(inside.body).slice(0, 300)).toBe(201);
    const artifact = await readFile(path.join(e.storageRoot, String(inside.body['path'])));
    expect(tarNames(artifact).filter((name) => /passwd|root/.test(name))).toEqual([]);
    expect(tarNames(artifact).some((name) => name.endsWith('index.js'))).toBe(true);
  }, 60_000);

  it('a daemon forked by the build does not outlive it', async () => {
    const reply = await create('daemon', {
      command: "(setsid sh -c 'sleep 4243' >/dev/null 2>&1 &) ; nohup sleep 4244 >/dev/null 2>&1 & true",
      remove: true,
    });
    expect(reply.status, JSON.stringify(reply.body).slice(0, 300)).toBe(201);
    const left = (): string => {
      try {
        return execFileSync('pgrep', ['-f', 'sleep 424[34]'], { encoding: 'utf8' });
      } catch {
        return '';
      }
    };
    const deadline = Date.now() + 5_000;
    while (left() !== '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(left()).toBe('');
  }, 60_000);
});
