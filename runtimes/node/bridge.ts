/**
 * The Node.js bridge: one instance process. It speaks runtime protocol v1 on fd 3 (a Unix socket),
 * loads the user's module once on INIT, and serves concurrent INVOKE frames. Console output of user
 * code becomes LOG frames tied to the invocation that produced it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { FrameKind } from '../../src/executor/protocol/frames.js';
import type { InitMeta, InvokeMeta, LogMeta } from '../../src/executor/protocol/messages.js';
import { BridgeConnection, MAX_RESPONSE_BYTES } from '../shared/connection.js';
import { describeThrown } from '../shared/thrown.js';
import { callFor } from './call.js';
import { castFor } from './cast.js';
import { stateFor } from './state.js';
import { InvocationSignal } from './invocation.js';
import { handlerContext } from './handler-context.js';
import { lazyRequest } from './lazy-request.js';
import { fetchClasses, installFetchGlobals } from './fetch-globals.js';
import { installLightResponse } from './light-response.js';
import { rehearse } from './rehearsal.js';
import { settled, startIdleCollection } from './idle-gc.js';
import { CallError } from '../shared/calls.js';
import { toResult, type BridgeResult, type HandlerContext, type UserHandler } from './result.js';
import type { ExpressHandler } from './tinyfaas.js';
import type { NativeLogs, OpenRuntimesHandler, OpenRuntimesLog } from './openruntimes.js';
import type { RuntimeEnv } from './openruntimes-runtime.js';
import type { ScalewayLoad } from './scaleway.js';
import type { ScalewayContext } from './scaleway-event.js';
import type { BaetylHandler } from './baetyl.js';
import { exportedMember, parseNodeHandler } from '../../src/model/node-handler.js';

const current = new AsyncLocalStorage<number>();
/**
 * A flavor's modules, imported at INIT of a function of that flavor: a native function (and every
 * process before INIT) does not load them, so HELLO comes sooner.
 */
let tinyfaas: typeof import('./tinyfaas.js') | undefined;
let openRuntimes: typeof import('./openruntimes.js') | undefined;
let openRuntimesServer: typeof import('./openruntimes-runtime.js') | undefined;
let scaleway: typeof import('./scaleway.js') | undefined;
let baetyl: typeof import('./baetyl.js') | undefined;
const inflight = new Map<number, InvocationSignal>();
let handler: UserHandler | undefined;
/** The handler of a function of the tinyFaaS flavor (INIT `flavor: "tinyfaas"`). */
let expressHandler: ExpressHandler | undefined;
/** The handler of a function of the Open Runtimes flavor (INIT `flavor: "openruntimes"`). */
let openRuntimesHandler: OpenRuntimesHandler | undefined;
/** The handler of a function of the Scaleway flavor, or the failure every call answers (scaleway.ts). */
let scalewayLoad: ScalewayLoad | undefined;
let scalewayContext: ScalewayContext | undefined;
/** The handler of a function of the OpenEdge / Baetyl flavors (INIT `flavor: "baetyl"` or `"openedge"`). */
let baetylHandler: BaetylHandler | undefined;
/** The flavors this bridge knows besides Skiff's own. */
const FLAVORS = new Set(['tinyfaas', 'openruntimes', 'scaleway', 'baetyl', 'openedge']);
/** Console output of an Open Runtimes function: a notice once per invocation (openruntimes.ts). */
let nativeLogs: NativeLogs | undefined;
/** Set for the async work of an Open Runtimes invocation sent with `x-open-runtimes-logging: disabled`. */
const silenced = new AsyncLocalStorage<boolean>();
/** What the Open Runtimes runtime server reads from the function's environment (at INIT). */
let openRuntimesEnv: RuntimeEnv | undefined;
/** For `/__opr/timings`: performance.now() (ms since the process start) at HELLO, INIT and READY. */
const startedAt = { hello: 0, init: 0, ready: 0 };
let init: InitMeta | undefined;
let secrets: Readonly<Record<string, string>> = Object.freeze({});

const connection = new BridgeConnection({
  runtime: 'node',
  onInit: initThenWarm,
  onInvoke,
  onCancel: (id) => inflight.get(id)?.cancel(),
  inFlight: () => inflight.size,
});
const { writer } = connection;
startedAt.hello = performance.now();

// Node's fetch implementation (undici) loads when a handler first uses Request, Response, Headers
// or fetch (about 18 ms then), not before: an instance started for its function that never does
// spares its ~12 MiB (fetch-globals.ts). The Request global and fetch link the lazy Request and light
// Response to it. A warm-pool process waits for INIT far longer: it loads undici while it waits (most
// handlers read headers, answer with Response.json or call fetch, and a cold start from the pool is
// about latency) and rehearses the rest of a first INIT and INVOKE (rehearsal.ts).
installFetchGlobals();
let prewarm: NodeJS.Timeout | undefined = process.argv.includes('--warm-pool')
  ? setTimeout(warmWhileWaiting, 20)
  : undefined;
function warmWhileWaiting(): void {
  prewarm = undefined;
  // only before INIT: after it this would run beside the function's first calls
  if (init !== undefined) return;
  fetchClasses();
  void rehearse(connection);
}
async function initThenWarm(meta: InitMeta): Promise<void> {
  clearTimeout(prewarm);
  prewarm = undefined;
  await onInit(meta);
  // an idle instance gives back the young generation its calls grew (idle-gc.ts)
  startIdleCollection(() => inflight.size);
}
const sendLog = connection.sendLog.bind(connection);
const sendError = connection.sendError.bind(connection);

// Console output of user code is tied to the invocation it runs in.
const levels: [keyof Console, LogMeta['level'], LogMeta['stream']][] = [
  ['log', 'info', 'stdout'],
  ['info', 'info', 'stdout'],
  ['debug', 'debug', 'stdout'],
  ['warn', 'warn', 'stderr'],
  ['error', 'error', 'stderr'],
];
for (const [method, level, stream] of levels) {
  (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
    const id = current.getStore() ?? 0;
    // Open Runtimes sends every console method to the function's logs (never its errors)
    // (a line after its invocation ended is kept without the notice: nothing would forget it again)
    if (nativeLogs !== undefined) {
      if (silenced.getStore() === true) return;
      for (const line of nativeLogs.lines(inflight.has(id) ? id : 0, args))
        sendLog(id, 'stdout', 'info', line);
    } else sendLog(id, stream, level, format(...args));
  };
}

function resolveHandler(mod: Record<string, unknown>, exportName: string | null): UserHandler | undefined {
  if (exportName !== null) {
    // `file:export`: the named export (or, for CommonJS, the property of module.exports)
    const named = exportedMember(mod, exportName);
    return typeof named === 'function' ? (named as UserHandler) : undefined;
  }
  let candidate: unknown = mod['default'] ?? mod['handler'];
  if (typeof candidate === 'object' && candidate !== null) {
    const inner = candidate as Record<string, unknown>;
    if (typeof inner['default'] === 'function') candidate = inner['default'];
    else if (typeof inner['fetch'] === 'function') {
      const fetchFn = inner['fetch'] as (...a: unknown[]) => unknown;
      candidate = (request: Request, ctx: HandlerContext) => fetchFn.call(inner, request, ctx.env, ctx);
    }
  }
  return typeof candidate === 'function' ? (candidate as UserHandler) : undefined;
}

async function onInit(meta: InitMeta): Promise<void> {
  startedAt.init = performance.now();
  // The platform starts this bridge without --enable-source-maps (reading the bridge's own maps
  // cost every start about 8 ms): stack traces of the function's code (compiled TypeScript, a
  // bundle with its map) are mapped as before, since it loads after this.
  process.setSourceMapsEnabled(true);
  init = meta;
  secrets = Object.freeze({ ...(meta.secrets ?? {}) });
  // A warm-pool process learns env and secrets here; a secret wins over an env entry of its name.
  // The platform leaves its own variables (PATH, HOME ...) out of both.
  Object.assign(process.env, meta.env, secrets);
  if (meta.flavor !== undefined && !FLAVORS.has(meta.flavor)) {
    sendError(0, { code: 'INIT_ERROR', message: `the node runtime has no flavor ${meta.flavor}` });
    return;
  }
  try {
    process.chdir(meta.codeDir);
    const { file, exportName } = parseNodeHandler(meta.handler);
    const entry = path.resolve(meta.codeDir, file);
    if (meta.flavor === 'scaleway') {
      // code that cannot load still starts: every call answers Scaleway's 500 (scaleway.ts)
      const report = (text: string) => sendLog(0, 'stderr', 'error', text);
      const load = () => import(pathToFileURL(entry).href) as Promise<Record<string, unknown>>;
      scaleway = await import('./scaleway.js');
      scalewayLoad = await scaleway.loadScaleway(load, exportName ?? 'handle', report);
      scalewayContext = Object.freeze({
        memoryLimitInMb: meta.memoryMb ?? 128,
        functionName: meta.function,
        functionVersion: String(meta.version),
      });
      writer.send(FrameKind.READY, 0, {});
      return;
    }
    if (meta.flavor === 'openruntimes') {
      process.env['OPEN_RUNTIMES_ENTRYPOINT'] = meta.handler;
      openRuntimes = await import('./openruntimes.js');
      openRuntimesServer = await import('./openruntimes-runtime.js');
      openRuntimesEnv = openRuntimesServer.runtimeEnv(process.env); // throws for an OPEN_RUNTIMES_HEADERS that is no object
      nativeLogs = new openRuntimes.NativeLogs();
    }
    // a native function gets the light Response global (light-response.ts) before its code loads
    if (meta.flavor === undefined || meta.flavor === 'native') installLightResponse();
    const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    if (meta.flavor === 'baetyl' || meta.flavor === 'openedge') {
      baetyl = await import('./baetyl.js');
      baetylHandler = baetyl.resolveBaetylHandler(mod, exportName ?? 'handler');
      if (baetylHandler === undefined) {
        sendError(0, { code: 'INIT_ERROR', message: baetyl.noHandler(file, exportName ?? 'handler') });
        return;
      }
      writer.send(FrameKind.READY, 0, {});
      return;
    }
    if (meta.flavor === 'tinyfaas') {
      tinyfaas = await import('./tinyfaas.js');
      expressHandler = tinyfaas.resolveExpressHandler(mod);
      if (expressHandler === undefined) {
        sendError(0, {
          code: 'INIT_ERROR',
          message: `${meta.handler} does not export a function (module.exports = (req, res) => ...)`,
        });
        return;
      }
      writer.send(FrameKind.READY, 0, {});
      return;
    }
    if (meta.flavor === 'openruntimes') {
      openRuntimesHandler = openRuntimes?.resolveOpenRuntimesHandler(mod);
      if (openRuntimesHandler === undefined) {
        sendError(0, { code: 'INIT_ERROR', message: openRuntimes?.NO_EXPORT ?? 'no export' });
        return;
      }
      startedAt.ready = performance.now();
      writer.send(FrameKind.READY, 0, {});
      return;
    }
    handler = resolveHandler(mod, exportName);
    if (handler === undefined) {
      sendError(0, {
        code: 'INIT_ERROR',
        message:
          exportName === null
            ? `${meta.handler} does not export a default function (export default async (request, ctx) => ...)`
            : `${file} does not export a function ${exportName} (export async function ${exportName}(request, ctx) ...)`,
      });
      return;
    }
    writer.send(FrameKind.READY, 0, {});
  } catch (err) {
    sendError(0, { code: 'INIT_ERROR', ...describeThrown(err) });
  }
}

async function onInvoke(id: number, meta: InvokeMeta, body: Buffer): Promise<void> {
  const receivedAt = performance.now();
  const invocation = new InvocationSignal();
  inflight.set(id, invocation);
  const fn = handler;
  const info = init;
  try {
    if (expressHandler !== undefined && tinyfaas !== undefined) {
      const express = expressHandler;
      const { invokeExpress } = tinyfaas;
      const result = await current.run(id, () => invokeExpress(express, meta, body, invocation.signal));
      if (invocation.cancelled) return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
      return send(id, result);
    }
    if (scalewayLoad !== undefined && scalewayContext !== undefined && scaleway !== undefined) {
      const load = scalewayLoad;
      const { invokeScaleway } = scaleway;
      const context = scalewayContext;
      const report = (text: string) => sendLog(id, 'stderr', 'error', text);
      const result = await current.run(id, () =>
        invokeScaleway(load, meta, body, { ...context }, invocation.signal, report),
      );
      if (result === 'cancelled' || invocation.cancelled)
        return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
      return send(id, result);
    }
    if (baetylHandler !== undefined && info !== undefined && baetyl !== undefined) {
      const handlerOf = baetylHandler;
      const { invokeBaetyl } = baetyl;
      const report = (text: string) => sendLog(id, 'stderr', 'error', text);
      const result = await current.run(id, () =>
        invokeBaetyl(handlerOf, meta, body, info.function, invocation.signal, report),
      );
      if (result === 'cancelled' || invocation.cancelled)
        return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
      return send(id, result);
    }
    if (
      openRuntimesHandler !== undefined &&
      openRuntimesEnv !== undefined &&
      openRuntimes !== undefined &&
      openRuntimesServer !== undefined
    ) {
      const main = openRuntimesHandler;
      const { invokeOpenRuntimes } = openRuntimes;
      const env = openRuntimesEnv;
      const log: OpenRuntimesLog = (kind, text) =>
        kind === 'error' ? sendLog(id, 'stderr', 'error', text) : sendLog(id, 'stdout', 'info', text);
      const request = openRuntimesServer.runtimeRequest(meta.headers, env);
      const call = {
        env,
        request,
        receivedAt,
        timings: openRuntimesTimings,
        maxBodyBytes: MAX_RESPONSE_BYTES,
      };
      const result = await current.run(id, () =>
        silenced.run(!request.logging, () => invokeOpenRuntimes(main, meta, body, log, call)),
      );
      if (invocation.cancelled) return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
      return send(id, result);
    }
    if (fn === undefined || info === undefined) throw new Error('INVOKE before READY');
    const ctx = handlerContext(
      {
        functionName: info.function,
        version: info.version,
        invocationId: meta.invocationId,
        deadline: meta.deadline,
        trigger: meta.trigger,
        traceId: meta.traceparent === undefined ? '' : meta.traceparent.slice(3, 35),
        traceparent: meta.traceparent ?? '',
        tracestate: meta.tracestate ?? '',
        caller: meta.caller,
        call: callFor(connection.calls, meta.invocationId),
        cast: castFor(connection.calls, meta.invocationId),
        state: stateFor(connection.calls, meta.invocationId, MAX_RESPONSE_BYTES),
        env: { ...info.env, ...secrets },
        secrets,
        log: (...args: unknown[]) => sendLog(id, 'log', 'info', format(...args)),
      },
      invocation,
    );
    const value = await current.run(id, () => fn(lazyRequest(meta, body, invocation), ctx));
    if (invocation.cancelled) return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
    send(id, await toResult(value));
  } catch (err) {
    if (invocation.cancelled) return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
    sendError(id, {
      code: isBadResponse(err) ? 'BAD_RESPONSE' : 'FUNCTION_ERROR',
      ...describeThrown(err),
      // a ctx.call refusal the handler did not catch: the platform may fail the invocation with it
      ...callFailureOf(err),
    });
  } finally {
    inflight.delete(id);
    nativeLogs?.end(id);
    connection.invocationEnded();
    settled();
  }
}

/**
 * `/__opr/timings`, in seconds: `startup` from the process start until the bridge could take its
 * function, `load` loading the function (INIT to READY), `uptime` since the process start.
 */
function openRuntimesTimings(): Record<string, number> {
  return {
    startup: startedAt.hello / 1000,
    load: (startedAt.ready - startedAt.init) / 1000,
    uptime: process.uptime(),
  };
}

/** `{ callFailure: code }` for a CallError of ctx.call (never throwing, whatever was thrown). */
function callFailureOf(err: unknown): { callFailure?: string } {
  try {
    return err instanceof CallError ? { callFailure: err.code } : {};
  } catch {
    return {};
  }
}

/** Whether the bridge itself refused what the handler returned (result.ts marks those errors). */
function isBadResponse(err: unknown): boolean {
  try {
    return err instanceof Error && (err as { skiffCode?: unknown }).skiffCode === 'BAD_RESPONSE';
  } catch {
    return false;
  }
}

/** Sends a RESULT, or the ERROR the platform gets instead (too large, invalid status or headers). */
function send(id: number, result: BridgeResult): void {
  connection.sendResult(id, result.status, result.headers, result.body);
}
