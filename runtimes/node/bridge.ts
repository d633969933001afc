/**
 * The Node.js bridge: one instance process. It speaks runtime protocol v1 on fd 3 (a Unix socket),
 * loads the user's module once on INIT, and serves concurrent INVOKE frames. Console output of user
 * code becomes LOG frames tied to the invocation that produced it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import {
  FrameDecoder,
  FrameKind,
  FrameWriter,
  PROTOCOL_VERSION,
  type Frame,
} from '../../src/executor/protocol/frames.js';
import type { ErrorMeta, InitMeta, InvokeMeta, LogMeta } from '../../src/executor/protocol/messages.js';
import { toResult, type HandlerContext, type UserHandler } from './result.js';

const PROTOCOL_FD = Number(process.env['SKIFF_PROTOCOL_FD'] ?? 3);
const MAX_RESPONSE_BYTES = Number(process.env['SKIFF_MAX_RESPONSE_BYTES'] ?? 6 * 1024 * 1024);

const socket = new net.Socket({ fd: PROTOCOL_FD, readable: true, writable: true });
const writer = new FrameWriter(socket);
const decoder = new FrameDecoder();
const current = new AsyncLocalStorage<number>();
const inflight = new Map<number, AbortController>();
let handler: UserHandler | undefined;
let init: InitMeta | undefined;
let shuttingDown = false;

function sendLog(id: number, stream: LogMeta['stream'], level: LogMeta['level'], text: string): void {
  const meta: LogMeta = { stream, level };
  writer.send(FrameKind.LOG, id, meta, Buffer.from(text, 'utf8'));
}

function sendError(id: number, meta: ErrorMeta): void {
  writer.send(FrameKind.ERROR, id, meta);
}

// Console output of user code is tied to the invocation it runs in.
const levels: [keyof Console, LogMeta['level'], LogMeta['stream']][] = [
  ['log', 'info', 'stdout'],
  ['info', 'info', 'stdout'],
  ['debug', 'debug', 'stdout'],
  ['warn', 'warn', 'stderr'],
  ['error', 'error', 'stderr'],
];
for (const [method, level, stream] of levels) {
  (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
    sendLog(current.getStore() ?? 0, stream, level, format(...args));
}

function resolveHandler(mod: Record<string, unknown>): UserHandler | undefined {
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
  init = meta;
  for (const [key, value] of Object.entries(meta.env)) process.env[key] = value;
  try {
    process.chdir(meta.codeDir);
    const entry = path.resolve(meta.codeDir, meta.handler);
    const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    handler = resolveHandler(mod);
    if (handler === undefined) {
      sendError(0, {
        code: 'INIT_ERROR',
        message: `${meta.handler} does not export a default function (export default async (request, ctx) => ...)`,
      });
      return;
    }
    writer.send(FrameKind.READY, 0, {});
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    sendError(0, { code: 'INIT_ERROR', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  }
}

function buildRequest(meta: InvokeMeta, body: Buffer, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [key, value] of meta.headers) {
    try {
      headers.append(key, value);
    } catch {
      // A header the Fetch API refuses is left out rather than failing the call.
    }
  }
  const hasBody = meta.method !== 'GET' && meta.method !== 'HEAD';
  return new Request(meta.url, { method: meta.method, headers, signal, ...(hasBody ? { body } : {}) });
}

async function onInvoke(id: number, meta: InvokeMeta, body: Buffer): Promise<void> {
  const controller = new AbortController();
  inflight.set(id, controller);
  const fn = handler;
  const info = init;
  try {
    if (fn === undefined || info === undefined) throw new Error('INVOKE before READY');
    const ctx: HandlerContext = {
      functionName: info.function,
      version: info.version,
      invocationId: meta.invocationId,
      deadline: meta.deadline,
      trigger: meta.trigger,
      env: { ...info.env },
      signal: controller.signal,
      log: (...args: unknown[]) => sendLog(id, 'log', 'info', format(...args)),
    };
    const value = await current.run(id, () => fn(buildRequest(meta, body, controller.signal), ctx));
    if (controller.signal.aborted) return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
    const result = await toResult(value);
    if (result.body.length > MAX_RESPONSE_BYTES) {
      sendError(id, {
        code: 'RESPONSE_TOO_LARGE',
        message: `response body of ${result.body.length} bytes exceeds the limit of ${MAX_RESPONSE_BYTES}`,
      });
      return;
    }
    writer.send(FrameKind.RESULT, id, { status: result.status, headers: result.headers }, result.body);
  } catch (err) {
    if (controller.signal.aborted) return sendError(id, { code: 'CANCELLED', message: 'cancelled' });
    const e = err instanceof Error ? err : new Error(String(err));
    const code =
      (e as { skiffCode?: unknown }).skiffCode === 'BAD_RESPONSE' ? 'BAD_RESPONSE' : 'FUNCTION_ERROR';
    sendError(id, { code, message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  } finally {
    inflight.delete(id);
    if (shuttingDown && inflight.size === 0) exitSoon(0);
  }
}

function exitSoon(code: number): void {
  writer.flush();
  socket.end(() => process.exit(code));
  setTimeout(() => process.exit(code), 200).unref();
}

function onFrame(frame: Frame): void {
  switch (frame.kind) {
    case FrameKind.INIT:
      void onInit(frame.meta as unknown as InitMeta);
      break;
    case FrameKind.INVOKE:
      void onInvoke(frame.id, frame.meta as unknown as InvokeMeta, frame.body);
      break;
    case FrameKind.CANCEL:
      inflight.get(frame.id)?.abort(new Error('invocation cancelled by the platform'));
      break;
    case FrameKind.PING:
      writer.send(FrameKind.PONG, frame.id, { inFlight: inflight.size });
      break;
    case FrameKind.SHUTDOWN: {
      shuttingDown = true;
      const graceMs = Number(frame.meta['graceMs'] ?? 0);
      if (inflight.size === 0) exitSoon(0);
      else setTimeout(() => exitSoon(0), graceMs).unref();
      break;
    }
    default:
      process.stderr.write(`skiff node bridge: ignoring frame kind ${frame.kind}\n`);
  }
}

socket.on('data', (chunk: Buffer) => {
  let frames: Frame[];
  try {
    frames = decoder.push(chunk);
  } catch (err) {
    process.stderr.write(`skiff node bridge: protocol error: ${(err as Error).message}\n`);
    process.exit(70);
  }
  for (const frame of frames) onFrame(frame);
});
socket.on('end', () => process.exit(0));
socket.on('error', () => process.exit(0));

writer.send(FrameKind.HELLO, 0, {
  protocol: PROTOCOL_VERSION,
  runtime: 'node',
  runtimeVersion: process.version,
  pid: process.pid,
});
