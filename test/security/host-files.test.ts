/**
 * The host's side of the sandbox: the data directory (admin token, secrets in the registry's WAL,
 * queued payloads, logs, code) must be the platform's alone, even one left by an older version with
 * 0644 files; a function runs as a host user of its own that owns nothing, not as nobody (65534), so that
 * neither a local user nor a sandbox can read the platform's files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostIdProblem, HOST_ID_COUNT } from '../../src/sandbox/host-ids.js';
import { ArtifactStore } from '../../src/store/artifacts.js';
import { secureDataDir } from '../../src/store/data-dir.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { descendants, hostUids } from '../helpers/procs.js';

const BASE = 2_000_000_000; // the default sandbox.uidBase
const isRoot = process.getuid?.() === 0;

/** Every path below `dir` (itself included), without following links. */
function walk(dir: string): string[] {
  const out = [dir];
  for (const entry of readdirSync(dir)) {
    const child = path.join(dir, entry);
    if (lstatSync(child).isDirectory()) out.push(...walk(child));
    else out.push(child);
  }
  return out;
}

/** Opens everything up the way an older version (umask 022, 0755 folders) left it. */
function openUp(dir: string): void {
  for (const file of walk(dir)) {
    const st = lstatSync(file);
    if (st.isSymbolicLink()) continue;
    chmodSync(file, st.isDirectory() || (st.mode & 0o100) !== 0 ? 0o755 : 0o644);
  }
}

/** Whether `uid` (with group `gid`, no others) can read `file` on the host, outside any sandbox. */
function canRead(file: string, uid: number, gid: number): boolean {
  try {
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', 'cat', file], {
      stdio: ['ignore', 'ignore', 'ignore'],
      timeout: 5_000,
    });
    return true;
  } catch {
    return false;
  }
}

/** Where this process's platforms mount a function's code for a sandbox (`<slot>/<name>`). */
function slotMounts(name: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.includes(`/skiff-slots-${process.pid}-`) && point.endsWith(`/${name}`));
}

interface Attempt {
  ok: boolean;
  code?: string;
  value?: string;
}

describe.runIf(isRoot)('security: host files and the sandbox’s host user', () => {
  let dataDir: string;
  let p: TestPlatform;
  let codeFile: string;

  const probe = async (query: string) => (await (await p.call(`/probe?${query}`)).json()) as Attempt;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    // an older version's data directory: registry, queue, token, logs and code, then opened up
    const first = await startPlatform({ dataDir });
    try {
      await first.deployAll({ neighbour: 'sleepy' });
      expect((await first.call('/neighbour')).status).toBe(200);
    } finally {
      await first.stop();
    }
    writeFileSync(path.join(dataDir, 'logs', 'older.log'), 'a log line with a secret\n');
    openUp(dataDir);
    const version = readdirSync(path.join(dataDir, 'functions', 'neighbour'))[0] ?? '';
    codeFile = path.join(dataDir, 'functions', 'neighbour', version, 'index.mjs');
    expect(lstatSync(codeFile).mode & 0o777).toBe(0o644);
    expect(lstatSync(dataDir).mode & 0o777).toBe(0o755);

    p = await startPlatform({ dataDir });
    await p.deployAll({ probe: 'probe' });
    expect((await p.call('/probe')).status).toBe(200);
    expect((await p.call('/neighbour')).status).toBe(200);
  });
  afterAll(async () => {
    await p.stop();
    await removeDir(dataDir);
  });

  it('makes every path of an existing data directory owner-only (code: read-only for the sandboxes’ group)', () => {
    const paths = walk(dataDir);
    expect(paths).toContain(path.join(dataDir, 'registry.db-wal'));
    expect(paths).toContain(path.join(dataDir, 'admin-token'));
    const functions = path.join(dataDir, 'functions');
    const wrong: string[] = [];
    for (const file of paths) {
      const st = lstatSync(file);
      if (st.isSymbolicLink()) continue;
      const rel = path.relative(functions, file).split(path.sep);
      const code = !rel[0]?.startsWith('..') && rel.length >= 2 && rel[0] !== '';
      const mode = st.mode & 0o7777;
      const ok = code
        ? st.uid === 0 && st.gid === BASE && (mode & 0o7027) === 0
        : st.uid === 0 && (mode & 0o7077) === 0;
      if (!ok) wrong.push(`${file} ${mode.toString(8)} ${st.uid}:${st.gid}`);
    }
    expect(wrong).toEqual([]);
  });

  it('lets no other local user (nobody, or a sandbox’s uid outside its sandbox) read the data directory', () => {
    const secrets = [
      'registry.db',
      'registry.db-wal',
      'queue.db',
      'admin-token',
      'endpoints.json',
      path.join('logs', 'older.log'),
    ].map((f) => path.join(dataDir, f));
    secrets.push(codeFile);
    // sanity: root reads them all
    for (const file of secrets) expect(canRead(file, 0, 0), file).toBe(true);
    for (const file of secrets) {
      expect(canRead(file, 65534, 65534), `nobody: ${file}`).toBe(false);
      expect(canRead(file, BASE + 4242, BASE), `a sandbox uid: ${file}`).toBe(false);
    }
    // the code as mounted for a sandbox: its group only, not any local user
    const [slot] = slotMounts('neighbour');
    expect(slot).toBeDefined();
    expect(canRead(path.join(slot ?? '', 'index.mjs'), 65534, 65534)).toBe(false);
  });

  it('keeps a function from reading the WAL, the queue, the token or another function’s code', async () => {
    const [slot] = slotMounts('neighbour');
    const targets = [
      path.join(dataDir, 'registry.db-wal'),
      path.join(dataDir, 'registry.db'),
      path.join(dataDir, 'queue.db'),
      path.join(dataDir, 'admin-token'),
      codeFile,
      path.join(slot ?? '/nonexistent', 'index.mjs'),
    ];
    for (const target of targets) {
      const r = await probe(`do=read&path=${encodeURIComponent(target)}`);
      expect(r, target).toMatchObject({ ok: false });
      expect(JSON.stringify(r)).not.toContain(p.token);
    }
  });

  it('runs each function as a host uid of its own from the dedicated range, not 65534', async () => {
    const uidsOf = async (name: string) => {
      const res = await p.api(`/v1/functions/${name}`);
      // from the sandbox (bubblewrap) down: `pid` is the instance's own process (issue 20), `sandboxPid` bwrap's
      const body = (await res.json()) as {
        function: { instances: { pid: number; sandboxPid: number | null }[] };
      };
      const tree = descendants(body.function.instances.map((i) => i.sandboxPid ?? i.pid));
      expect(tree.length, name).toBeGreaterThanOrEqual(2);
      return tree.flatMap((pid) => hostUids(pid) ?? []);
    };
    const probeUids = await uidsOf('probe');
    const neighbourUids = await uidsOf('neighbour');
    for (const uid of [...probeUids, ...neighbourUids]) {
      expect(uid).toBeGreaterThan(BASE);
      expect(uid).toBeLessThan(BASE + HOST_ID_COUNT);
    }
    expect(new Set(probeUids).size).toBe(1);
    expect(new Set(neighbourUids).size).toBe(1);
    // one user per sandbox: nothing the kernel counts per user is shared between two functions
    expect(probeUids[0]).not.toBe(neighbourUids[0]);
    // inside, the function still sees itself as 65534
    const inside = (await (await p.call('/probe?do=status')).json()) as { uid: string };
    expect(inside.uid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
  });

  it('uses a range that no user or group has and that owns no file in the data folder', () => {
    expect(hostIdProblem(BASE)).toBeUndefined();
    // the functions above ran as uids of the range: nothing of theirs is left on the host (other test
    // files build in their own data folders meanwhile, so the shared temp folder is not looked at)
    const owned = spawnSync(
      'find',
      [dataDir, '-xdev', '-uid', `+${BASE - 1}`, '-uid', `-${BASE + HOST_ID_COUNT}`, '-print'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 },
    );
    expect(owned.stdout.trim()).toBe('');
    expect(existsSync(path.join(dataDir, 'sandbox', 'seccomp.bpf'))).toBe(true);
  });
});

/**
 * The start-up permission walk (secureDataDir) and the hand-over of a new version's code
 * (ArtifactStore.commit → shareCode) change owners and modes: a link in the data dir or in a code folder
 * pointing at a host file must have itself re-owned, never its target (its owner and set-id bits stay).
 */
describe.runIf(isRoot)('security: the data dir walks never follow a link', () => {
  let dataDir: string;
  let host: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    host = await makeDataDir();
  });
  afterAll(async () => {
    await removeDir(dataDir);
    await removeDir(host);
  });

  /** A host file and folder owned by uid 4242, the file setuid; returns them. */
  const targets = (tag: string): string[] => {
    const file = path.join(host, `${tag}-file`);
    const dir = path.join(host, `${tag}-dir`);
    writeFileSync(file, 'host');
    mkdirSync(dir);
    for (const t of [file, dir]) chownSync(t, 4242, 4242);
    chmodSync(file, 0o4755);
    chmodSync(dir, 0o755);
    return [file, dir];
  };
  const state = (files: string[]) =>
    files.map((f) => {
      const st = lstatSync(f);
      return { f, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
    });

  it('secureDataDir re-owns links in the data dir and in code folders, not their targets', async () => {
    const hostFiles = targets('start');
    const code = path.join(dataDir, 'functions', 'fn', 'v1-abc');
    mkdirSync(code, { recursive: true });
    writeFileSync(path.join(code, 'main.py'), 'x');
    const links = [
      [hostFiles[0], path.join(dataDir, 'top-link')],
      [hostFiles[0], path.join(code, 'file-link')],
      [hostFiles[1], path.join(code, 'dir-link')],
      [
        '../../../../' + path.relative(path.dirname(dataDir), hostFiles[0] ?? ''),
        path.join(code, 'rel-link'),
      ],
    ] as const;
    for (const [target, link] of links) {
      symlinkSync(target ?? '', link);
      lchownSync(link, 4243, 4243);
    }
    const before = state(hostFiles);
    await secureDataDir(dataDir, BASE);
    expect(state(hostFiles)).toEqual(before);
    for (const [, link] of links) expect(lstatSync(link).uid, link).toBe(0);
    expect(lstatSync(path.join(code, 'main.py')).gid).toBe(BASE);
  });

  it('ArtifactStore.commit (shareCode) re-owns links in the new code, not their targets', async () => {
    const hostFiles = targets('commit');
    const store = new ArtifactStore(dataDir, BASE);
    const staging = await store.createStaging();
    writeFileSync(path.join(staging, 'main.py'), 'x');
    mkdirSync(path.join(staging, 'sub'));
    symlinkSync(hostFiles[0] ?? '', path.join(staging, 'sub', 'file-link'));
    symlinkSync(hostFiles[1] ?? '', path.join(staging, 'dir-link'));
    const before = state(hostFiles);
    const code = await store.commit(staging, 'fn2', 1, 'abcdef0123456789');
    expect(state(hostFiles)).toEqual(before);
    expect(lstatSync(path.join(code, 'sub', 'file-link')).uid).toBe(0);
    expect(lstatSync(path.join(code, 'main.py')).gid).toBe(BASE);
  });
});
