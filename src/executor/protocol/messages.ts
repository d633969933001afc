/**
 * Meta shapes of the runtime protocol v1 frames (docs/runtime-protocol.md), as zod schemas: every frame
 * a peer sends is untrusted input and is parsed here before use. The TypeScript types are derived from
 * the schemas. The platform parses what bridges send (`parseBridgeFrame`), bridges what the platform
 * sends (`parsePlatformFrame`); the conformance kit uses the platform's side.
 */
// zod/mini: the bridges load these schemas at start, and its bundle is small (see scripts/bundle-schemas.mjs)
import * as z from 'zod/mini';
import type { HeaderPairs } from '../../model/invocation.js';

export type { HeaderPairs };
import { FrameKind, type Frame } from './frames.js';

/** Longest text (characters) of a reason for a refused frame, as logged. */
const MAX_REASON_CHARS = 300;

export const headerPairsSchema = z.array(z.tuple([z.string(), z.string()]));

const stringRecord = z.record(z.string(), z.string());

export const helloMetaSchema = z.object({
  protocol: z.number(),
  runtime: z.string(),
  runtimeVersion: z.optional(z.string()),
  pid: z.optional(z.number()),
});
export type HelloMeta = z.infer<typeof helloMetaSchema>;

export const initMetaSchema = z.object({
  codeDir: z.string(),
  handler: z.string(),
  function: z.string(),
  version: z.number(),
  env: stringRecord,
  /** The function's secrets (name → value); also in the process environment. */
  secrets: stringRecord,
  /**
   * The function's calling convention: `native` (absent) or the name of a compatibility flavor
   * (model/flavor.ts, docs/runtime-protocol.md). A bridge that does not know a flavor fails INIT.
   */
  flavor: z.optional(z.string()),
  /** The memory limit of the instance in MiB (its cgroup's), for flavors whose context reports it. */
  memoryMb: z.optional(z.number()),
});
export type InitMeta = z.infer<typeof initMetaSchema>;

export const invokeMetaSchema = z.object({
  invocationId: z.string(),
  method: z.string(),
  url: z.string(),
  headers: headerPairsSchema,
  deadline: z.number(),
  trigger: z.string(),
  /** Trigger `call` or `cast`: the calling function's name (absent otherwise). */
  caller: z.optional(z.string()),
  /** The invocation's own W3C traceparent (its trace, its span): the parent of what it calls. */
  traceparent: z.optional(z.string()),
  /** The W3C tracestate that came with the trace, when there was one. */
  tracestate: z.optional(z.string()),
});
export type InvokeMeta = z.infer<typeof invokeMetaSchema>;

/** A RESULT's status must be an integer here; whether it is one a caller may see is checked later. */
export const resultMetaSchema = z.object({
  status: z.int(),
  headers: headerPairsSchema,
});
export type ResultMeta = z.infer<typeof resultMetaSchema>;

/** Codes a bridge may report in an ERROR frame. */
export const bridgeErrorCodeSchema = z.enum([
  'FUNCTION_ERROR',
  'INIT_ERROR',
  'BAD_RESPONSE',
  'RESPONSE_TOO_LARGE',
  'CANCELLED',
]);
export type BridgeErrorCode = z.infer<typeof bridgeErrorCodeSchema>;

export const errorMetaSchema = z.object({
  code: bridgeErrorCodeSchema,
  message: z.string(),
  stack: z.optional(z.string()),
  /** FUNCTION_ERROR of a program run per request (binary runtime): its exit code, shown to the caller. */
  exitCode: z.optional(z.int()),
  /** FUNCTION_ERROR from a `ctx.call` failure the handler did not catch: the code of that call's FAIL. */
  callFailure: z.optional(z.string()),
});
export type ErrorMeta = z.infer<typeof errorMetaSchema>;

export const logMetaSchema = z.object({
  stream: z.enum(['stdout', 'stderr', 'log']),
  level: z.enum(['debug', 'info', 'warn', 'error']),
});
export type LogMeta = z.infer<typeof logMetaSchema>;

export const shutdownMetaSchema = z.object({ graceMs: z.number().check(z.minimum(0)) });
export type ShutdownMeta = z.infer<typeof shutdownMetaSchema>;

export const pongMetaSchema = z.object({ inFlight: z.optional(z.number()) });

/** The longest function name, method and path a CALL may name (the platform checks names further). */
const MAX_CALL_NAME_CHARS = 256;
const MAX_CALL_PATH_CHARS = 8 * 1024;

/**
 * CALL (B → P): a function calls another on behalf of one of its invocations in flight
 * (`invocationId`, the caller's id as INVOKE gave it). The frame's id is a call id of the bridge's own
 * choosing (not an INVOKE wire id); REPLY or FAIL answers under the same call id. The body is the
 * request body.
 */
export const callMetaSchema = z.object({
  invocationId: z.string(),
  function: z.string().check(z.minLength(1), z.maxLength(MAX_CALL_NAME_CHARS)),
  method: z.optional(z.string().check(z.minLength(1), z.maxLength(16))),
  /** Path (and query) below the callee's prefix, starting with `/`; `/` when absent. */
  path: z.optional(z.string().check(z.maxLength(MAX_CALL_PATH_CHARS), z.startsWith('/'))),
  headers: z.optional(headerPairsSchema),
});
export type CallMeta = z.infer<typeof callMetaSchema>;

/**
 * CAST (B → P): a function queues an asynchronous invocation of another (or of the targets a workflow
 * maps an output alias to) on behalf of one of its invocations in flight. Its id is a call id (the same
 * counter as CALL); REPLY (status 202, body `{"id", "ids"}`) answers once every invocation is on disk,
 * FAIL when the platform refused. `delayMs`: the earliest time it runs, from now. The range of the delay
 * is checked by the platform (a FAIL, not a protocol violation).
 */
export const castMetaSchema = z.object({
  ...callMetaSchema.shape,
  delayMs: z.optional(z.number()),
});
export type CastMeta = z.infer<typeof castMetaSchema>;

/**
 * STATE (B → P): an operation on the state of the function of invocation `invocationId` (never any
 * other function's), under a call id of the bridge (the CALL counter). `key` names the key of get, set
 * and delete, and for list the key to list after (the previous page's `next`); `prefix` filters list;
 * `ifVersion` makes set and delete compare-and-set; `contentType` is set's (`application/json` or
 * `application/octet-stream`). The body is set's value. REPLY or FAIL answers under the same call id.
 * Strings are not bounded here (the meta is, at 1 MiB): a key the store refuses is a FAIL, not a
 * violation, so a function's bad key never ends its instance.
 */
export const stateMetaSchema = z.object({
  invocationId: z.string(),
  op: z.enum(['get', 'set', 'delete', 'list']),
  key: z.optional(z.string()),
  prefix: z.optional(z.string()),
  ifVersion: z.optional(z.number()),
  contentType: z.optional(z.string()),
});
export type StateMeta = z.infer<typeof stateMetaSchema>;

/** REPLY (P → B): the callee's response, whatever its status (a callee's 500 is a reply). */
export const replyMetaSchema = z.object({ status: z.int(), headers: headerPairsSchema });
export type ReplyMeta = z.infer<typeof replyMetaSchema>;

/** FAIL (P → B): the platform refused the call or could not complete it; `code` is a SKIFF_E_* code. */
export const failMetaSchema = z.object({ code: z.string(), message: z.string() });
export type FailMeta = z.infer<typeof failMetaSchema>;

const emptyMeta = z.object({});
const body = z.custom<Buffer>((value) => Buffer.isBuffer(value));
const wireId = z.int().check(z.minimum(0));

function frameOf<K extends number, M extends z.ZodMiniType>(kind: K, meta: M) {
  return z.object({ kind: z.literal(kind), id: wireId, meta, body });
}

/** Frames a bridge sends to the platform (B → P). Any other kind is a protocol violation. */
export const bridgeFrameSchema = z.discriminatedUnion('kind', [
  frameOf(FrameKind.HELLO, helloMetaSchema),
  frameOf(FrameKind.READY, emptyMeta),
  frameOf(FrameKind.RESULT, resultMetaSchema),
  frameOf(FrameKind.ERROR, errorMetaSchema),
  frameOf(FrameKind.LOG, logMetaSchema),
  frameOf(FrameKind.PONG, pongMetaSchema),
  frameOf(FrameKind.CALL, callMetaSchema),
  frameOf(FrameKind.CAST, castMetaSchema),
  frameOf(FrameKind.STATE, stateMetaSchema),
]);
export type BridgeFrame = z.infer<typeof bridgeFrameSchema>;

/** Frames the platform sends to a bridge (P → B); bridges ignore kinds they do not know. */
export const platformFrameSchema = z.discriminatedUnion('kind', [
  frameOf(FrameKind.INIT, initMetaSchema),
  frameOf(FrameKind.INVOKE, invokeMetaSchema),
  frameOf(FrameKind.CANCEL, emptyMeta),
  frameOf(FrameKind.SHUTDOWN, shutdownMetaSchema),
  frameOf(FrameKind.PING, emptyMeta),
  frameOf(FrameKind.REPLY, replyMetaSchema),
  frameOf(FrameKind.FAIL, failMetaSchema),
]);
export type PlatformFrame = z.infer<typeof platformFrameSchema>;

const KIND_NAMES = new Map<number, string>(Object.entries(FrameKind).map(([name, kind]) => [kind, name]));

/** The name of a frame kind (`RESULT`), or `kind 99` for one the protocol does not have. */
export function kindName(kind: number): string {
  return KIND_NAMES.get(kind) ?? `kind ${kind}`;
}

export type Parsed<T> = { ok: true; frame: T } | { ok: false; reason: string };

/** A short, bounded description of why a frame was refused (the first issues only). */
function describeIssues(frame: Frame, issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, 3).map((issue) => {
    const where = issue.path.map((key) => String(key).slice(0, 40)).join('.');
    return where === '' ? issue.message : `${where}: ${issue.message}`;
  });
  const text = `${kindName(frame.kind)} frame: ${parts.join('; ')}`;
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

function parseWith<T>(schema: z.ZodMiniType<T>, frame: Frame, direction: string): Parsed<T> {
  const result = schema.safeParse(frame);
  if (result.success) return { ok: true, frame: result.data };
  if (result.error.issues.some((i) => i.code === 'invalid_union' && i.path.length === 1)) {
    return { ok: false, reason: `${kindName(frame.kind)} is not a frame a ${direction} may send` };
  }
  return { ok: false, reason: describeIssues(frame, result.error.issues) };
}

/** Headers as `headerPairsSchema` takes them: an array of pairs of strings (exactly two each). */
function isHeaderPairs(value: unknown): value is HeaderPairs {
  if (!Array.isArray(value)) return false;
  for (const pair of value as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) return false;
    if (typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return false;
  }
  return true;
}

/**
 * A RESULT (one per answered invocation) checked by hand, by the same rules as `resultMetaSchema`
 * (an integer status, headers as pairs of strings, nothing else kept); undefined when it fails them,
 * and the schema then says why.
 */
function resultFrame(frame: Frame): Parsed<BridgeFrame> | undefined {
  const { status, headers } = frame.meta;
  if (typeof status !== 'number' || !Number.isSafeInteger(status) || !isHeaderPairs(headers))
    return undefined;
  const meta = { status, headers };
  return { ok: true, frame: { kind: FrameKind.RESULT, id: frame.id, meta, body: frame.body } };
}

/**
 * An INVOKE (one per invocation, read by every bridge) checked by hand, by the same rules as its
 * frame's schema (a wire id that is an integer from 0, a Buffer body, `invokeMetaSchema`'s strings,
 * finite number and header pairs, nothing else kept); undefined when it fails them, and the schema
 * then says why.
 */
function invokeFrame(frame: Frame): Parsed<PlatformFrame> | undefined {
  const { id, body } = frame;
  if (!Number.isSafeInteger(id) || id < 0 || !Buffer.isBuffer(body)) return undefined;
  const { invocationId, method, url, headers, deadline, trigger, caller, traceparent, tracestate } =
    frame.meta;
  if (typeof invocationId !== 'string' || typeof method !== 'string' || typeof url !== 'string')
    return undefined;
  if (typeof deadline !== 'number' || !Number.isFinite(deadline) || typeof trigger !== 'string')
    return undefined;
  if ((caller !== undefined && typeof caller !== 'string') || !isHeaderPairs(headers)) return undefined;
  if (traceparent !== undefined && typeof traceparent !== 'string') return undefined;
  if (tracestate !== undefined && typeof tracestate !== 'string') return undefined;
  const meta: InvokeMeta = { invocationId, method, url, headers, deadline, trigger };
  if (caller !== undefined) meta.caller = caller;
  if (traceparent !== undefined) meta.traceparent = traceparent;
  if (tracestate !== undefined) meta.tracestate = tracestate;
  return { ok: true, frame: { kind: FrameKind.INVOKE, id, meta, body } };
}

/** Parses a frame from a bridge (an instance): what the platform and the conformance kit accept. */
export function parseBridgeFrame(frame: Frame): Parsed<BridgeFrame> {
  const fast = frame.kind === FrameKind.RESULT ? resultFrame(frame) : undefined;
  return fast ?? parseWith(bridgeFrameSchema, frame, 'runtime');
}

/** Parses a frame from the platform: what a bridge accepts (unknown kinds are its to ignore). */
export function parsePlatformFrame(frame: Frame): Parsed<PlatformFrame> {
  const fast = frame.kind === FrameKind.INVOKE ? invokeFrame(frame) : undefined;
  return fast ?? parseWith(platformFrameSchema, frame, 'platform');
}
