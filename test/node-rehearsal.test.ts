import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameKind, type Frame } from '../src/executor/protocol/frames.js';
import { folderWith } from './helpers/tmp.js';
import { quietFor, waitUntil } from './helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BRIDGE = path.join(ROOT, 'dist', 'runtimes', 'node', 'bridge.js');

/**
 * A Node bridge waiting for INIT rehearses a first INIT and INVOKE (runtimes/node/rehearsal.ts): it
 * parses sample frames, imports a module of its own and runs a handler on a lazy request, so that a
 * cold start from the warm pool does not pay for that. The rehearsal must send nothing and leave the
 * bridge serving its function as before.
 */
describe('the Node bridge while it waits for INIT', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    child?.kill('SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('loads a file module of its own, sends nothing, then serves its function', async () => {
    dir = await folderWith({
      'index.js': "export default async () => new Response('hi', { headers: { 'x-fn': 'yes' } });\n",
    });
    child = spawn(process.execPath, ['--experimental-detect-module', BRIDGE, '--warm-pool'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      // the ESM loader says on stderr which modules it loads
      env: { PATH: process.env['PATH'] ?? '', NODE_DEBUG: 'esm' },
      cwd: dir,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const socket = child.stdio[3] as Socket;
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));

    await waitUntil('HELLO', () => frames.length > 0, 20_000);
    expect(frames[0]?.kind).toBe(FrameKind.HELLO);
    await waitUntil('the rehearsal module to load', () => stderr.includes('rehearsal-module.js'), 20_000);
    await quietFor(200, 'a frame the rehearsal might send');
    expect(frames.map((f) => f.kind)).toEqual([FrameKind.HELLO]);

    const init = { codeDir: dir, handler: 'index.js', function: 'fn', version: 1, env: {}, secrets: {} };
    socket.write(encodeFrame(FrameKind.INIT, 0, init));
    await waitUntil('READY', () => frames.length > 1, 20_000);
    expect(frames[1]?.kind).toBe(FrameKind.READY);
    const invoke = {
      invocationId: 'i1',
      method: 'GET',
      url: 'http://localhost/',
      headers: [],
      deadline: 0,
      trigger: 'http',
    };
    socket.write(encodeFrame(FrameKind.INVOKE, 1, invoke));
    await waitUntil('RESULT', () => frames.length > 2, 20_000);
    const result = frames[2];
    expect(result?.kind).toBe(FrameKind.RESULT);
    expect(result?.meta['status']).toBe(200);
    expect(result?.meta['headers']).toContainEqual(['x-fn', 'yes']);
    expect(result?.body.toString()).toBe('hi');
  });
});
