/**
 * The exec bridge: one instance process for the binary runtime (docs/runtimes/binary.md). It speaks
 * runtime protocol v1 on fd 3 and runs the function's executable once per INVOKE, inside the instance
 * (not a new sandbox per request): the request body on stdin, the response body from stdout, stderr
 * lines as LOG frames, the request in CGI-style environment variables, and optional status and headers
 * through the file named by SKIFF_RESPONSE_HEADERS. Invocations run concurrently.
 */
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { FrameKind } from '../../src/executor/protocol/frames.js';
import type { HeaderPairs, InitMeta, InvokeMeta } from '../../src/executor/protocol/messages.js';
import { DEFAULT_API_LIMITS, frameBackend, startApiServer } from '../shared/api-server.js';
import { BridgeConnection, MAX_RESPONSE_BYTES } from '../shared/connection.js';
import { HeadersFileError, MAX_HEADERS_FILE_BYTES, parseHeadersFile, requestEnv } from './cgi.js';
import { nodeLauncher } from './launch.js';
import { Reaper } from './reaper.js';
import { Spawner } from './spawner.js';
import { killStrays } from './strays.js';

/** The content type of a tinyFaaS binary function's reply (it has no headers file). */
const TINYFAAS_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Longest stderr line sent as one LOG frame; longer lines are cut into pieces. */
const MAX_LOG_LINE = 16 * 1024;

const reaper = new Reaper();
const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-exec-'));
/** The spawner's interpreter and script (arguments after this file; none: Node's spawn for every run). */
const [spawnerPython, spawnerScript] = process.argv.slice(2);
let spawner: Spawner | undefined;
process.on('exit', () => {
  reaper.killAll();
  spawner?.close();
  rmSync(tmpDir, { recursive: true, force: true });
});

/** The environment every run starts from: this process's (function env + PATH, HOME, LANG). */
const baseEnv: Record<string, string> = {};
for (const [key, value] of Object.entries(process.env)) {
  if (value !== undefined && key !== 'SKIFF_PROTOCOL_FD' && key !== 'SKIFF_MAX_RESPONSE_BYTES') {
    baseEnv[key] = value;
  }
}

interface Run {
  /** Set once the invocation was answered (CANCEL answers at once); later outcomes are dropped. */
  answered: boolean;
  pid: number | undefined;
}

const inflight = new Map<number, Run>();
let init: InitMeta | undefined;
/** argv that runs the program: the executable itself, or `/bin/sh <file>` for a script without `#!`. */
let argv: [string, ...string[]] | undefined;
let nextFile = 1;

const connection = new BridgeConnection({
  runtime: 'exec',
  onInit,
  onInvoke,
  onCancel,
  inFlight: () => inflight.size,
  beforeExit: () => reaper.killAll(),
});
const { writer } = connection;
const sendError = connection.sendError.bind(connection);
const sendLog = connection.sendLog.bind(connection);

/** Invocation ids in flight → how many runs carry it (the API serves only these). */
const liveIds = new Map<string, number>();
/** $SKIFF_API (runtimes/shared/api-server.ts): calls for the program, in the instance's private /tmp. */
const apiSocket = path.join(tmpDir, 'api.sock');
const api = startApiServer({
  socketPath: apiSocket,
  backend: frameBackend(() => connection.calls),
  live: (invocationId) => liveIds.has(invocationId),
  limits: { ...DEFAULT_API_LIMITS, maxBodyBytes: MAX_RESPONSE_BYTES },
});
api.catch(() => undefined); // reported at INIT

/** True for a file that starts with `#!` or is an ELF binary, i.e. one exec() can start itself. */
function selfStarting(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    return (
      (n >= 2 && head[0] === 0x23 && head[1] === 0x21) || (n === 4 && head.toString('latin1') === '\x7fELF')
    );
  } finally {
    closeSync(fd);
  }
}

async function onInit(meta: InitMeta): Promise<void> {
  try {
    await api;
  } catch (err) {
    sendError(0, { code: 'INIT_ERROR', message: `cannot serve $SKIFF_API: ${(err as Error).message}` });
    return;
  }
  if (meta.flavor !== undefined && meta.flavor !== 'tinyfaas') {
    sendError(0, { code: 'INIT_ERROR', message: `the binary runtime has no flavor ${meta.flavor}` });
    return;
  }
  init = meta;
  // A warm-pool process learns the function's env and secrets here (secrets win over env entries);
  // the launch-time variables PATH, HOME and LANG stay, since the platform leaves them out of INIT.
  Object.assign(baseEnv, meta.env, meta.secrets ?? {});
  try {
    process.chdir(meta.codeDir);
    const program = path.resolve(meta.codeDir, meta.handler);
    let info;
    try {
      info = statSync(program);
    } catch {
      throw new Error(`the executable ${meta.handler} does not exist in the function folder`);
    }
    if (!info.isFile()) throw new Error(`${meta.handler} is not a regular file`);
    try {
      accessSync(program, constants.X_OK);
    } catch {
      throw new Error(`${meta.handler} is not executable (chmod +x ${meta.handler})`);
    }
    argv = selfStarting(program) ? [program] : ['/bin/sh', program];
    // runs use it once it said hello; until then (and without it) they use Node's spawn
    if (spawnerPython !== undefined && spawnerScript !== undefined) {
      spawner = new Spawner(spawnerPython, spawnerScript, meta.codeDir);
    }
    writer.send(FrameKind.READY, 0, {});
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    sendError(0, { code: 'INIT_ERROR', message: e.message });
  }
}

/** Splits a stream into lines, each sent as a LOG frame of the invocation. */
function lineLogger(id: number): { push(chunk: string): void; end(): string[] } {
  let rest = '';
  const tail: string[] = [];
  const emit = (line: string): void => {
    sendLog(id, 'stderr', 'error', line);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  return {
    push(chunk) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) emit(line);
      while (rest.length > MAX_LOG_LINE) {
        emit(rest.slice(0, MAX_LOG_LINE));
        rest = rest.slice(MAX_LOG_LINE);
      }
    },
    end() {
      if (rest !== '') emit(rest);
      rest = '';
      return tail;
    },
  };
}

async function onInvoke(id: number, meta: InvokeMeta, body: Buffer): Promise<void> {
  const run: Run = { answered: false, pid: undefined };
  inflight.set(id, run);
  liveIds.set(meta.invocationId, (liveIds.get(meta.invocationId) ?? 0) + 1);
  const answer = (send: () => void): void => {
    if (run.answered) return;
    run.answered = true;
    send();
  };
  const headersFile = path.join(tmpDir, `${nextFile++}.headers`);
  try {
    if (init === undefined || argv === undefined) throw new Error('INVOKE before READY');
    // synchronous: the instance's private /tmp is memory, and a thread-pool round trip costs more
    closeSync(openSync(headersFile, 'w', 0o600));
    const env = { ...requestEnv(baseEnv, init, meta, body.length, headersFile), SKIFF_API: apiSocket };
    const outcome = await execute(id, run, argv, env, body);
    if (run.answered) return;
    if (outcome.tooLarge) {
      return answer(() =>
        sendError(id, {
          code: 'RESPONSE_TOO_LARGE',
          message: `the output of ${init?.handler} exceeds the limit of ${MAX_RESPONSE_BYTES} bytes`,
        }),
      );
    }
    if (outcome.code !== 0) {
      const how =
        outcome.signal !== null
          ? `was killed by signal ${outcome.signal}`
          : `exited with code ${outcome.code}`;
      // tinyFaaS reports Go's exec error text (docs/compat/tinyfaas-flavors.md)
      const message =
        init.flavor === 'tinyfaas' && outcome.code !== null
          ? `exit status ${outcome.code}`
          : `${init.handler} ${how}`;
      const exitCode = outcome.code ?? undefined;
      return answer(() =>
        sendError(id, {
          code: 'FUNCTION_ERROR',
          message,
          stack: message,
          ...(exitCode === undefined ? {} : { exitCode }),
        }),
      );
    }
    if (init.flavor === 'tinyfaas') {
      const headers: HeaderPairs = [['content-type', TINYFAAS_CONTENT_TYPE]];
      return answer(() => connection.sendResult(id, 200, headers, outcome.stdout));
    }
    const text = readHeadersFile(headersFile);
    const { status, headers } = parseHeadersFile(text);
    answer(() => connection.sendResult(id, status, headers, outcome.stdout));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = e instanceof HeadersFileError ? 'BAD_RESPONSE' : 'FUNCTION_ERROR';
    answer(() => sendError(id, { code, message: e.message }));
  } finally {
    inflight.delete(id);
    const runs = (liveIds.get(meta.invocationId) ?? 1) - 1;
    if (runs > 0) liveIds.set(meta.invocationId, runs);
    else liveIds.delete(meta.invocationId);
    try {
      unlinkSync(headersFile);
    } catch {
      // never created, or removed by the program
    }
    // no run left: whatever a run left behind (out of its process group) goes now
    if (inflight.size === 0) killStrays([reaper.watchdogPid, spawner?.pid]);
    connection.invocationEnded();
  }
}

function readHeadersFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return ''; // removed by the program: nothing set
  }
  try {
    // one byte more than allowed tells a file that is too large
    const size = Math.min(fstatSync(fd).size, MAX_HEADERS_FILE_BYTES) + 1;
    const data = Buffer.allocUnsafe(size);
    let n = 0;
    for (let got = -1; got !== 0 && n < size; n += got) got = readSync(fd, data, n, size - n, null);
    if (n > MAX_HEADERS_FILE_BYTES) {
      throw new HeadersFileError(`the headers file is larger than ${MAX_HEADERS_FILE_BYTES} bytes`);
    }
    return data.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  tooLarge: boolean;
}

/** Runs the program once in its own process group; resolves when it has exited and its output is read. */
function execute(
  id: number,
  run: Run,
  command: [string, ...string[]],
  env: Record<string, string>,
  body: Buffer,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    const decoder = new StringDecoder('utf8');
    const stderr = lineLogger(id);
    const launcher = spawner?.launcher ?? nodeLauncher;
    launcher.run(command, env, body, {
      started(pid) {
        run.pid = pid;
        reaper.add(pid, !launcher.guardsGroups);
        // cancelled (or timed out) while the spawner was starting it
        if (run.answered) reaper.signal(pid);
      },
      stdout(chunk) {
        if (tooLarge) return;
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          tooLarge = true;
          chunks.length = 0;
          if (run.pid !== undefined) reaper.signal(run.pid);
          return;
        }
        chunks.push(chunk);
      },
      stderr(chunk) {
        stderr.push(decoder.write(chunk));
      },
      // Whatever the program left running in its group ends with it, so its pipes close.
      exited(exitCode, exitSignal) {
        code = exitCode;
        signal = exitSignal;
        if (run.pid !== undefined && !launcher.guardsGroups) reaper.signal(run.pid);
      },
      closed() {
        if (run.pid !== undefined) reaper.remove(run.pid);
        stderr.push(decoder.end());
        stderr.end();
        resolve({ code, signal, stdout: Buffer.concat(chunks), tooLarge });
      },
      failed(err) {
        if (run.pid !== undefined) {
          reaper.signal(run.pid);
          reaper.remove(run.pid);
        }
        reject(new Error(`could not start ${init?.handler}: ${err.message}`));
      },
    });
  });
}

function onCancel(id: number): void {
  const run = inflight.get(id);
  if (run === undefined || run.answered) return;
  run.answered = true;
  if (run.pid !== undefined) reaper.signal(run.pid);
  sendError(id, { code: 'CANCELLED', message: 'cancelled' });
}
