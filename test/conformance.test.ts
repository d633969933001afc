import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASE_NAMES, runConformance, type CaseResult } from '../src/executor/conformance/run.js';
import { TMP_PREFIX } from './helpers/tmp.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'skiff.js');
const NODE_BRIDGE = path.join(ROOT, 'dist', 'runtimes', 'node', 'bridge.js');
const NODE_FUNCTION = path.join(ROOT, 'runtimes', 'node', 'conformance');
const PYTHON = '/usr/bin/python3';
const PYTHON_BRIDGE = path.join(ROOT, 'runtimes', 'python', 'bridge.py');
const PYTHON_FUNCTION = path.join(ROOT, 'runtimes', 'python', 'conformance');

/** A failing case shows up in the assertion diff with its reason and the runtime's stderr. */
const failures = (results: CaseResult[]) => results.filter((r) => !r.passed);

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built CLI, killed after 60 s; never rejects. */
function runCli(args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('SKIFF_')) env[key] = value;
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env, timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const failure = err as (Error & { code?: unknown }) | null;
        resolve({
          code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
          stdout,
          stderr,
          ms: performance.now() - started,
        });
      },
    );
  });
}

/** A frame encoder small enough for a broken runtime written in one file. */
const FRAME_HELPERS = `
import net from 'node:net';
const socket = new net.Socket({ fd: Number(process.env.SKIFF_PROTOCOL_FD), readable: true, writable: true });
const send = (kind, id, meta = {}, body = Buffer.alloc(0)) => {
  const m = Buffer.from(JSON.stringify(meta));
  const head = Buffer.alloc(13);
  head.writeUInt32BE(9 + m.length + body.length, 0);
  head.writeUInt8(kind, 4);
  head.writeUInt32BE(id >>> 0, 5);
  head.writeUInt32BE(m.length, 9);
  socket.write(Buffer.concat([head, m, body]));
};
let buffered = Buffer.alloc(0);
const onFrame = (handler) =>
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
      const length = 4 + buffered.readUInt32BE(0);
      handler(buffered[4], buffered.readUInt32BE(5));
      buffered = buffered.subarray(length);
    }
  });
socket.on('end', () => process.exit(0));
`;

/** Says HELLO, then never answers INIT. */
const SILENT = `${FRAME_HELPERS}
onFrame(() => undefined);
send(1, 0, { protocol: 1, runtime: 'silent' });
`;

/** Answers INIT and PING properly, but every RESULT carries the wrong wire id. */
const WRONG_IDS = `${FRAME_HELPERS}
onFrame((kind, id) => {
  if (kind === 2) send(3, 0);
  if (kind === 4) send(5, id + 1, { status: 200, headers: [] }, Buffer.from('wrong'));
  if (kind === 10) send(11, id);
});
send(1, 0, { protocol: 1, runtime: 'wrong-ids' });
`;

describe('runtime conformance kit', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    await writeFile(path.join(scratch, 'silent.mjs'), SILENT);
    await writeFile(path.join(scratch, 'wrong-ids.mjs'), WRONG_IDS);
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('passes the Node bridge with the Node conformance function', async () => {
    const results = await runConformance({
      command: process.execPath,
      args: ['--experimental-detect-module', NODE_BRIDGE],
      functionDir: NODE_FUNCTION,
      handler: 'index.mjs',
    });
    expect(failures(results)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(CASE_NAMES);
    expect(results.find((r) => r.name === 'call')?.detail).toBe('CALL answered by REPLY and by FAIL');
    expect(results.find((r) => r.name === 'cast')?.detail).toBe(
      'CAST answered by REPLY (the id) and by FAIL',
    );
    expect(results.find((r) => r.name === 'state')?.detail).toBe('STATE answered by REPLY and by FAIL');
    expect(results.find((r) => r.name === 'trace-context')?.detail).toBe(
      'trace id, traceparent and tracestate',
    );
  });

  it('`skiff runtime test` passes the Node bridge, prints the table and exits 0', async () => {
    const cli = await runCli([
      'runtime',
      'test',
      '--function',
      'runtimes/node/conformance',
      '--handler',
      'index.mjs',
      '--',
      process.execPath,
      '--experimental-detect-module',
      'dist/runtimes/node/bridge.js',
    ]);
    expect(cli.stdout).toMatch(/^CASE\s+RESULT\s+TIME\s+DETAIL$/m);
    for (const name of CASE_NAMES) expect(cli.stdout).toMatch(new RegExp(`^${name}\\s+PASS\\s+\\d+ ms`, 'm'));
    expect(cli.stdout).toContain(`✔ all ${CASE_NAMES.length} cases passed`);
    expect(cli.code).toBe(0);
  });

  it.skipIf(!existsSync(PYTHON_BRIDGE) || !existsSync(PYTHON))(
    'passes the Python bridge with the Python conformance function',
    async () => {
      const results = await runConformance({
        command: PYTHON,
        args: ['-u', PYTHON_BRIDGE],
        functionDir: PYTHON_FUNCTION,
        handler: 'main.py',
        // no __pycache__ folders in the source tree
        env: { PYTHONDONTWRITEBYTECODE: '1' },
      });
      expect(failures(results)).toEqual([]);
      expect(results.map((r) => r.name)).toEqual(CASE_NAMES);
      expect(results.find((r) => r.name === 'call')?.detail).toBe('CALL answered by REPLY and by FAIL');
      expect(results.find((r) => r.name === 'cast')?.detail).toBe(
        'CAST answered by REPLY (the id) and by FAIL',
      );
      expect(results.find((r) => r.name === 'state')?.detail).toBe('STATE answered by REPLY and by FAIL');
      expect(results.find((r) => r.name === 'trace-context')?.detail).toBe(
        'trace id, traceparent and tracestate',
      );
    },
  );

  it.skipIf(!existsSync(PYTHON))(
    'passes a minimal custom runtime in plain Python that the tests contain',
    async () => {
      const results = await runConformance({
        command: PYTHON,
        args: ['-u', path.join(ROOT, 'test', 'fixtures', 'runtimes', 'minimal.py')],
      });
      expect(failures(results)).toEqual([]);
      expect(results.map((r) => r.name)).toEqual(CASE_NAMES);
      expect(results.find((r) => r.name === 'call')?.detail).toMatch(/^not supported/);
      expect(results.find((r) => r.name === 'cast')?.detail).toMatch(/^not supported/);
      expect(results.find((r) => r.name === 'state')?.detail).toMatch(/^not supported/);
      expect(results.find((r) => r.name === 'trace-context')?.detail).toMatch(/^not supported/);
    },
  );

  it('fails a runtime that says HELLO and never becomes ready, in bounded time', async () => {
    const started = performance.now();
    const results = await runConformance({
      command: process.execPath,
      args: [path.join(scratch, 'silent.mjs')],
      readyTimeoutMs: 1_000,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(results).toHaveLength(CASE_NAMES.length);
    expect(results[0]).toMatchObject({ name: 'handshake', passed: false, detail: 'no READY within 1000 ms' });
    for (const r of results.slice(1)) {
      expect(r).toMatchObject({ passed: false, detail: 'not run: the handshake failed' });
    }
  });

  it('`skiff runtime test` fails a runtime that answers with wrong ids, with exit 1 and the reason', async () => {
    const cli = await runCli([
      'runtime',
      'test',
      '--only',
      'handshake,echo,concurrent,health',
      '--',
      process.execPath,
      path.join(scratch, 'wrong-ids.mjs'),
    ]);
    expect(cli.ms).toBeLessThan(20_000);
    expect(cli.stdout).toMatch(/^handshake\s+PASS/m);
    expect(cli.stdout).toMatch(/^echo\s+FAIL\s+\d+ ms\s+RESULT for wire id 2, which was never invoked$/m);
    expect(cli.stdout).toMatch(/^concurrent\s+FAIL/m);
    expect(cli.stdout).toMatch(/^health\s+PASS/m);
    expect(cli.stdout).toContain('✖ 2 of 4 cases failed: echo, concurrent');
    expect(cli.code).toBe(1);

    const json = await runCli([
      '--json',
      'runtime',
      'test',
      '--only',
      'echo',
      '--',
      process.execPath,
      path.join(scratch, 'wrong-ids.mjs'),
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        name: 'echo',
        passed: false,
        detail: expect.stringContaining('never invoked'),
      }),
    ]);
  });

  it('`skiff runtime test` refuses an unknown case name as a usage error', async () => {
    const cli = await runCli(['runtime', 'test', '--only', 'echo,nope', '--', process.execPath]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('unknown case "nope"');
  });
});
