import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameKind, type Frame } from '../src/executor/protocol/frames.js';
import { folderWith } from './helpers/tmp.js';
import { quietFor, waitFor, waitUntil } from './helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BRIDGE = path.join(ROOT, 'dist', 'runtimes', 'node', 'bridge.js');
const MiB = 1024 * 1024;

/** A handler whose `?grow` call makes lots of short-lived garbage (V8 grows its young generation for it). */
const HANDLER = `import v8 from 'node:v8';
export default async (request) => {
  if (new URL(request.url).searchParams.has('grow')) {
    let keep = [];
    for (let i = 0; i < 400_000; i++) {
      keep.push({ i, s: 'x' + i });
      if (keep.length > 50_000) keep = [];
    }
  }
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return Response.json({ newSpace: space.space_size });
};
`;

/** The process's anonymous memory (the heap's pages among them), bytes. */
function rssAnon(pid: number): number {
  const line = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) * 1024;
}

/**
 * An idle Node instance gives back the young generation its calls grew (runtimes/node/idle-gc.ts):
 * once nothing has been in flight for SKIFF_REDUCE_AFTER_IDLE_MS after its last call, one last-resort
 * collection; it keeps serving calls, one arriving right then included.
 */
describe('an idle Node bridge', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    child?.kill('SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function bridge(idleMs: number) {
    dir = await folderWith({ 'index.js': HANDLER });
    child = spawn(process.execPath, ['--experimental-detect-module', BRIDGE], {
      stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', SKIFF_REDUCE_AFTER_IDLE_MS: String(idleMs) },
      cwd: dir,
    });
    const pid = child.pid as number;
    const socket = child.stdio[3] as Socket;
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
    await waitUntil('HELLO', () => frames.length > 0, 20_000);
    const init = { codeDir: dir, handler: 'index.js', function: 'fn', version: 1, env: {}, secrets: {} };
    socket.write(encodeFrame(FrameKind.INIT, 0, init));
    await waitUntil('READY', () => frames.some((f) => f.kind === FrameKind.READY), 20_000);
    let id = 0;
    /** One INVOKE; its RESULT's status and the new space's size the handler saw. */
    const invoke = async (query = '') => {
      const meta = {
        invocationId: `i${++id}`,
        method: 'GET',
        url: `http://localhost/${query}`,
        headers: [],
        deadline: 0,
        trigger: 'http',
      };
      socket.write(encodeFrame(FrameKind.INVOKE, id, meta));
      const mine = id;
      const result = await waitFor(`RESULT ${mine}`, () => frames.find((f) => f.id === mine), 20_000);
      expect(result.kind).toBe(FrameKind.RESULT);
      return {
        status: result.meta['status'],
        newSpace: (JSON.parse(result.body.toString()) as { newSpace: number }).newSpace,
      };
    };
    return { pid, invoke };
  }

  it('shrinks its young generation once idle, and answers a call arriving then', async () => {
    const idleMs = 400;
    const { pid, invoke } = await bridge(idleMs);
    const grown = await invoke('?grow');
    expect(grown.status).toBe(200);
    const anonGrown = rssAnon(pid);
    // a call arriving when the instance has been idle for its quiet time, its collection about to run
    await quietFor(idleMs, 'the quiet time the collection waits for');
    expect((await invoke()).status).toBe(200);
    // then quiet again: the anonymous memory falls by most of what the young generation had grown to
    await waitUntil(
      () => `RssAnon to fall from ${anonGrown / MiB} MiB (now ${rssAnon(pid) / MiB})`,
      () => rssAnon(pid) < anonGrown - grown.newSpace / 2,
      20_000,
    );
    const after = await invoke();
    expect(after.status).toBe(200);
    expect(after.newSpace).toBeLessThan(grown.newSpace / 2);
  });

  it('keeps its young generation with SKIFF_REDUCE_AFTER_IDLE_MS=0', async () => {
    const { invoke } = await bridge(0);
    const grown = await invoke('?grow');
    await quietFor(1_500, 'the time an idle collection would have had');
    expect((await invoke()).newSpace).toBe(grown.newSpace);
  });
});
