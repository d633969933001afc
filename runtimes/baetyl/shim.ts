/**
 * The Baetyl / OpenEdge runtime shim: the bridge of a `custom` function of flavor `baetyl` or
 * `openedge` whose `command` is a runtime process of those platforms (docs/compat/baetyl/
 * external-runtimes.md). It speaks runtime protocol v1 on fd 3 like every bridge, and inside the same
 * sandbox starts the command (argv in SKIFF_COMMAND) with `-c <service config file>` and the address
 * and name variables (a free port on the loopback of the sandbox's own network namespace), dials it
 * over gRPC (@grpc/grpc-js, runtime-client.ts) until it accepts a connection, maps every INVOKE onto a
 * `Function/Call`, SIGTERMs it on
 * SHUTDOWN and waits for it within the grace period. When the runtime exits on its own the shim exits
 * with code 1: the platform reports the instance's crash.
 *
 * The method: the flavor's own (`baetyl.Function/Call`, `openedge.Function/Call`); a runtime that
 * answers UNIMPLEMENTED is tried with the next one, down to 0.1.1's `runtime.Runtime/Handle`, and the
 * method that answered is kept for the life of the instance. With flavor `openedge`, a runtime that
 * exits before it listens is started once more with the configuration itself as JSON in `-c`, as
 * OpenEdge 0.1.1 passed it.
 *
 * Inside the sandbox there is no node_modules: scripts/bundle-schemas.mjs bundles the client
 * (runtime-client.ts with grpc-js, proto-loader and protobufjs) on its own, and this file with the
 * protos' JSON descriptor as SKIFF_BAETYL_PROTOS. The client is imported once the runtime is
 * spawned: loading it (tens of milliseconds) overlaps the runtime's own start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FrameKind } from '../../src/executor/protocol/frames.js';
import type { HeaderPairs, InitMeta, InvokeMeta } from '../../src/executor/protocol/messages.js';
import { Reaper } from '../exec/reaper.js';
import { listeningInodes, serverOwnsPort } from '../http/listener-owner.js';
import { BridgeConnection, MAX_RESPONSE_BYTES } from '../shared/connection.js';
import type protobuf from 'protobufjs';
import type { CallOutcome, RuntimeClient, RuntimeMethod } from './runtime-client.js';
import { functionMessage, serviceConfig, serviceEnv } from './service-config.js';

/** The protos' JSON descriptor, put in by the bundler (scripts/bundle-schemas.mjs). */
declare const SKIFF_BAETYL_PROTOS: protobuf.INamespace | undefined;

/** gRPC's status UNIMPLEMENTED: the runtime does not serve the method. */
const UNIMPLEMENTED = 12;
/** Per flavor: the methods tried, in order. */
const METHOD_ORDER: Record<string, RuntimeMethod[]> = {
  baetyl: ['baetyl', 'openedge', 'runtime'],
  openedge: ['openedge', 'runtime', 'baetyl'],
};
/** The runtime's graceful stop of its server (upstream's default), written into its configuration. */
const SERVER_TIMEOUT_MS = 30_000;
/** Dialling: how often the shim looks whether the runtime exited (the channel retries meanwhile). */
const DIAL_CHECK_MS = 250;
/** The first wait for the runtime's port to be its own; it doubles up to DIAL_CHECK_MS. */
const DIAL_FIRST_MS = 10;
/** After SIGTERM: at least this long for the runtime to exit, and what is kept of the grace period. */
const TERM_MIN_MS = 200;
const TERM_MARGIN_MS = 150;
/**
 * ...and at most this long: SIGTERM comes once nothing is in flight, so a runtime only has its own
 * teardown left; one that ignores SIGTERM must not hold a delete or redeploy for the whole grace.
 */
const TERM_MAX_MS = 5000;

const reaper = new Reaper();
const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-baetyl-'));
process.on('exit', () => {
  reaper.killAll();
  rmSync(tmpDir, { recursive: true, force: true });
});

const inflight = new Map<number, AbortController>();
let child: ChildProcess | undefined;
let childExited = false;
let client: RuntimeClient | undefined;
let clientModule: Promise<typeof import('./runtime-client.js')> | undefined;
let methods: RuntimeMethod[] = [];
let functionName = '';
let nextMessageId = 1n;

const connection = new BridgeConnection({
  runtime: 'baetyl-shim',
  onInit,
  onInvoke,
  onCancel: (id) => inflight.get(id)?.abort(),
  inFlight: () => inflight.size,
  onDrained: stopRuntime,
  beforeExit: () => reaper.killAll(),
});
const { writer } = connection;
const sendError = connection.sendError.bind(connection);
const exitSoon = connection.exitSoon.bind(connection);

function note(text: string): void {
  process.stderr.write(`skiff baetyl shim: ${text}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function parseCommand(raw: string | undefined): [string, ...string[]] {
  let argv: unknown;
  try {
    argv = JSON.parse(raw ?? '');
  } catch {
    throw new Error('SKIFF_COMMAND is not set to a JSON array: give the function a "command"');
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new Error('SKIFF_COMMAND must be a non-empty JSON array of strings');
  }
  return argv as [string, ...string[]];
}

function describeExit(proc: ChildProcess): string {
  return proc.signalCode !== null ? `signal ${proc.signalCode}` : `exit code ${String(proc.exitCode)}`;
}

/** Whether any socket listens on the port (the runtime's, or a stranger's). */
function somethingListens(port: number): boolean {
  const table = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return listeningInodes(port, [table('/proc/net/tcp'), table('/proc/net/tcp6')]).size > 0;
}

/**
 * Dials until the channel is connected, or the runtime exits (the platform bounds the wait). Only
 * once every socket listening on the port is the runtime's (or a process it started): without a
 * sandbox the loopback is shared, and a stranger listening first must not get the function's messages.
 */
async function dial(grpc: RuntimeClient, proc: ChildProcess, port: number): Promise<boolean> {
  let wait = DIAL_FIRST_MS;
  let warned = false;
  for (;;) {
    if (proc !== child || childExited) return false;
    const pid = proc.pid;
    if (pid !== undefined && serverOwnsPort(pid, port)) {
      if (await grpc.waitForReady(DIAL_CHECK_MS)) return true;
      continue;
    }
    if (!warned && somethingListens(port)) {
      warned = true;
      note(`a process outside the runtime listens on its port ${port}; ignored`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, DIAL_CHECK_MS);
  }
}

interface Launch {
  program: string;
  args: string[];
  env: Record<string, string>;
  codeDir: string;
  address: string;
  port: number;
}

/**
 * Starts the runtime with `-c <configArg>` and waits until it accepts a connection: the client, or
 * why it did not start.
 */
async function startRuntime(
  launch: Launch,
  protos: protobuf.INamespace,
  configArg: string,
): Promise<RuntimeClient | string> {
  // The runtime's output goes to this process's stdout/stderr: the function's log, and the first
  // lines of its stderr are in the platform's error when the start fails.
  const proc = spawn(launch.program, [...launch.args, '-c', configArg], {
    cwd: launch.codeDir,
    env: launch.env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  child = proc;
  childExited = false;
  if (proc.pid !== undefined) reaper.add(proc.pid);
  let spawnError: Error | undefined;
  proc.on('error', (err) => {
    spawnError = err;
    if (proc === child) childExited = true;
  });
  proc.on('exit', () => {
    if (proc.pid !== undefined) reaper.signal(proc.pid);
    if (proc !== child) return;
    childExited = true;
    if (client === undefined) return; // still starting: reported by the caller
    if (connection.shuttingDown) return;
    note(`the runtime exited (${describeExit(proc)})`);
    exitSoon(1);
  });
  clientModule ??= import('./runtime-client.js');
  const { RuntimeClient } = await clientModule;
  const grpc = new RuntimeClient(launch.address, protos, MAX_RESPONSE_BYTES);
  if (await dial(grpc, proc, launch.port)) return grpc;
  grpc.close();
  await new Promise((resolve) => setImmediate(resolve));
  return spawnError !== undefined
    ? `could not start ${launch.program}: ${spawnError.message}`
    : `the runtime exited (${describeExit(proc)}) before it listened on ${launch.address}`;
}

async function onInit(meta: InitMeta): Promise<void> {
  try {
    const order = METHOD_ORDER[meta.flavor ?? ''];
    if (order === undefined) {
      throw new Error(
        `the Baetyl runtime shim serves flavors baetyl and openedge, not ${meta.flavor ?? 'native'}`,
      );
    }
    if (typeof SKIFF_BAETYL_PROTOS === 'undefined') {
      throw new Error('the Baetyl runtime shim runs bundled (npm run build): the protos are missing');
    }
    const protos = SKIFF_BAETYL_PROTOS;
    methods = order;
    functionName = meta.function;
    process.chdir(meta.codeDir);
    const [file, ...args] = parseCommand(process.env['SKIFF_COMMAND']);
    const program = file.includes('/') && !path.isAbsolute(file) ? path.resolve(meta.codeDir, file) : file;
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const config = serviceConfig(meta, {
      address,
      timeoutMs: SERVER_TIMEOUT_MS,
      maxMessageBytes: MAX_RESPONSE_BYTES,
    });
    // JSON is YAML: the runtimes read this file with a YAML parser
    const configFile = path.join(tmpDir, 'service.yml');
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !['SKIFF_PROTOCOL_FD', 'SKIFF_COMMAND'].includes(key)) env[key] = value;
    }
    Object.assign(env, serviceEnv(meta.function, address));
    const launch = { program, args, env, codeDir: meta.codeDir, address, port };
    let started = await startRuntime(launch, protos, configFile);
    if (typeof started === 'string' && meta.flavor === 'openedge') {
      // OpenEdge 0.1.1 runtimes take the configuration itself as JSON in -c, not a file name
      note(`${started}; starting it again with the configuration as JSON in -c (OpenEdge 0.1.1)`);
      const again = await startRuntime(launch, protos, JSON.stringify(config));
      started = typeof again === 'string' ? `${started}; with the configuration as JSON: ${again}` : again;
    }
    if (typeof started === 'string') {
      sendError(0, { code: 'INIT_ERROR', message: started });
      return;
    }
    client = started;
    writer.send(FrameKind.READY, 0, {});
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    sendError(0, { code: 'INIT_ERROR', message: e.message });
  }
}

/** Calls the first method the runtime implements; the one that answered is kept. */
async function callRuntime(
  grpc: RuntimeClient,
  meta: InvokeMeta,
  body: Buffer,
  signal: AbortSignal,
): Promise<CallOutcome> {
  const message = functionMessage(nextMessageId++, functionName, meta, body);
  for (;;) {
    const method = methods[0] as RuntimeMethod;
    const outcome = await grpc.call(method, message, {
      timeoutMs: Math.max(1, meta.deadline - Date.now()),
      signal,
    });
    if (outcome.ok || outcome.status !== UNIMPLEMENTED || methods.length === 1) return outcome;
    methods = methods.slice(1);
  }
}

function isJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function onInvoke(id: number, meta: InvokeMeta, body: Buffer): void {
  const controller = new AbortController();
  inflight.set(id, controller);
  let answered = false;
  const answer = (send: () => void): void => {
    if (answered) return;
    answered = true;
    inflight.delete(id);
    send();
    connection.invocationEnded();
  };
  controller.signal.addEventListener('abort', () =>
    answer(() => sendError(id, { code: 'CANCELLED', message: 'cancelled' })),
  );
  const grpc = client;
  if (grpc === undefined) {
    answer(() => sendError(id, { code: 'FUNCTION_ERROR', message: 'INVOKE before READY' }));
    return;
  }
  callRuntime(grpc, meta, body, controller.signal).then(
    (outcome) => {
      if (outcome.ok) {
        const { payload } = outcome.message;
        const headers: HeaderPairs =
          payload.length === 0
            ? []
            : [['content-type', isJson(payload) ? 'application/json' : 'application/octet-stream']];
        answer(() => connection.sendResult(id, 200, headers, payload));
        return;
      }
      if (outcome.status === 'malformed') {
        const message = `the runtime's reply is not a ${methods[0] ?? ''} message: ${outcome.details}`;
        answer(() => sendError(id, { code: 'BAD_RESPONSE', message }));
        return;
      }
      if (outcome.status !== null) {
        // an error of the runtime's (the user's code): its gRPC details, as Baetyl's callers read them
        const kind = outcome.details.includes('[UserCodeReturn]') ? 'UserCodeReturn' : 'UserCodeInvoke';
        const headers: HeaderPairs = [
          ['baetyl-error', kind],
          ['content-type', 'text/plain; charset=utf-8'],
        ];
        answer(() => connection.sendResult(id, 500, headers, Buffer.from(outcome.details, 'utf8')));
        return;
      }
      // No status: if the runtime died, the shim exits and the platform reports the crash.
      setTimeout(() => {
        if (childExited) return;
        const message = `the runtime failed to answer: ${outcome.details}`;
        answer(() => sendError(id, { code: 'FUNCTION_ERROR', message }));
      }, 200);
    },
    (err: unknown) => answer(() => sendError(id, { code: 'FUNCTION_ERROR', message: String(err) })),
  );
}

/** Once nothing is in flight after SHUTDOWN: SIGTERM the runtime and wait for it, within the grace. */
function stopRuntime(): void {
  client?.close();
  const proc = child;
  const pid = proc?.pid;
  if (proc === undefined || pid === undefined || childExited) return exitSoon(0);
  const wait = Math.min(
    TERM_MAX_MS,
    Math.max(TERM_MIN_MS, (connection.graceLeftMs() ?? 1000) - TERM_MARGIN_MS),
  );
  const timer = setTimeout(() => {
    note(`the runtime did not exit within ${wait} ms of SIGTERM: killed`);
    exitSoon(0);
  }, wait);
  proc.once('exit', () => {
    clearTimeout(timer);
    note(`the runtime stopped on SIGTERM (${describeExit(proc)})`);
    exitSoon(0);
  });
  reaper.signal(pid, 'SIGTERM');
}
