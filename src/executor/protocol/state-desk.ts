/**
 * The STATE side of one protocol connection (docs/runtime-protocol.md, "State"): a bridge reads or
 * writes the state of the function of one of its invocations in flight; the platform answers under
 * the bridge's call id (the CALL id space) with REPLY (status 200, `content-type` and
 * `x-skiff-state-version` headers) or FAIL (the state store's stable codes).
 *
 * The function is always that of the invocation the frame names: a bridge cannot name another, so a
 * function can never touch another function's state. The rules of CALL hold: a STATE reusing a call id
 * in flight, or made for an invocation whose INVOKE the bridge never read, is a protocol violation; one
 * for an invocation no longer in flight is a FAIL. Nothing thrown while serving one leaves the desk.
 */
import { SkiffError } from '../../shared/errors.js';
import { stateConflict } from '../../shared/state-conflict.js';
import {
  MAX_STATE_KEY_BYTES,
  STATE_CONTENT_TYPES,
  type StateCondition,
  type StateContentType,
  type StateKeyInfo,
} from '../../model/state.js';
import type { HeaderPairs, Invocation } from '../../model/invocation.js';
import type { StateService } from '../state-service.js';
import { FrameKind } from './frames.js';
import type { FailMeta, ReplyMeta, StateMeta } from './messages.js';

export interface StateDeskDeps {
  /** The state this instance may use now, or undefined where the platform serves none. */
  service(): StateService | undefined;
  /** The invocation in flight, by its invocation id; `written`: its INVOKE went out. */
  caller(invocationId: string): { invocation: Invocation; written: boolean } | undefined;
  /** Whether another desk (CALL) has this call id in flight: the id space is shared. */
  busy(callId: number): boolean;
  send(kind: number, id: number, meta: object, body?: Uint8Array): void;
  violation(reason: string): void;
}

/** What a STATE is answered with when it succeeds. */
interface Answer {
  headers: HeaderPairs;
  body: Buffer;
}

const JSON_TYPE = 'application/json';
const versionHeader = (version: number): [string, string] => ['x-skiff-state-version', String(version)];
const json = (value: unknown): Answer => ({
  headers: [['content-type', JSON_TYPE]],
  body: Buffer.from(JSON.stringify(value), 'utf8'),
});

export class StateDesk {
  /** Call ids of STATE frames in flight. */
  private readonly ops = new Set<number>();
  private closed = false;

  constructor(private readonly deps: StateDeskDeps) {}

  get inFlight(): number {
    return this.ops.size;
  }

  has(callId: number): boolean {
    return this.ops.has(callId);
  }

  onState(callId: number, meta: StateMeta, body: Buffer): void {
    if (this.closed) return;
    if (this.ops.has(callId) || this.deps.busy(callId)) {
      this.deps.violation(`a STATE with call id ${callId}, which is already in flight`);
      return;
    }
    const caller = this.deps.caller(meta.invocationId);
    if (caller !== undefined && !caller.written) {
      this.deps.violation(`a STATE for invocation ${meta.invocationId}, which it never read`);
      return;
    }
    const service = this.deps.service();
    if (service === undefined) {
      return this.fail(callId, 'SKIFF_E_INTERNAL', 'this platform serves no function state');
    }
    if (caller === undefined) {
      return this.fail(
        callId,
        'SKIFF_E_INVOCATION_NOT_FOUND',
        `the invocation ${JSON.stringify(meta.invocationId.slice(0, 64))} is not in flight (it ended, timed out or was cancelled)`,
      );
    }
    if (this.ops.size >= service.maxInFlight) {
      return this.fail(
        callId,
        'SKIFF_E_TOO_MANY_REQUESTS',
        `this instance has ${service.maxInFlight} state operations in flight, its limit; wait for one to finish`,
      );
    }
    this.ops.add(callId);
    let op: Promise<Answer>;
    try {
      op = this.run(service, caller.invocation.function, meta, body);
    } catch (err) {
      op = Promise.reject(err as Error);
    }
    op.then(
      (answer) => this.reply(callId, answer),
      (err: unknown) => this.failed(callId, err),
    );
  }

  /** The connection ended: answers of operations still running go nowhere. */
  close(): void {
    this.closed = true;
    this.ops.clear();
  }

  private async run(service: StateService, fn: string, meta: StateMeta, body: Buffer): Promise<Answer> {
    const { state } = service;
    const condition: StateCondition = meta.ifVersion === undefined ? {} : { ifVersion: meta.ifVersion };
    switch (meta.op) {
      case 'get': {
        const key = keyOf(meta);
        const entry = await state.get(fn, key);
        if (entry === undefined) {
          throw new SkiffError('SKIFF_E_STATE_NOT_FOUND', `no state under key ${JSON.stringify(key)}`);
        }
        return {
          headers: [['content-type', entry.contentType], versionHeader(entry.version)],
          body: entry.value,
        };
      }
      case 'set': {
        const key = keyOf(meta);
        const contentType = contentTypeOf(meta);
        // checked right before the write, which runs synchronously from here (see StateSource.exists)
        if (!service.exists(fn)) {
          throw new SkiffError('SKIFF_E_FUNCTION_NOT_FOUND', `function ${fn} was deleted; its state is gone`);
        }
        const written = await state.set(fn, key, body, contentType, condition);
        if (!written.ok) throw stateConflict(`key ${JSON.stringify(key)}`, written.currentVersion, condition);
        const answer = json({ version: written.version, created: written.created });
        answer.headers.push(versionHeader(written.version));
        return answer;
      }
      case 'delete': {
        const key = keyOf(meta);
        const outcome = await state.delete(fn, key, condition);
        if (!outcome.ok) throw stateConflict(`key ${JSON.stringify(key)}`, outcome.currentVersion, condition);
        const answer = json({ deleted: outcome.deleted });
        answer.headers.push(versionHeader(0));
        return answer;
      }
      case 'list': {
        // no key is longer, and the store would work through the whole string
        if (meta.prefix !== undefined && Buffer.byteLength(meta.prefix) > MAX_STATE_KEY_BYTES) {
          throw new SkiffError(
            'SKIFF_E_INVALID_STATE_KEY',
            `a prefix is at most ${MAX_STATE_KEY_BYTES} bytes of UTF-8, like a key`,
          );
        }
        const page = await state.list(fn, {
          ...(meta.prefix === undefined ? {} : { prefix: meta.prefix }),
          ...(meta.key === undefined ? {} : { after: meta.key }),
        });
        const keys: StateKeyInfo[] = page.keys;
        return json({ keys, next: page.next });
      }
    }
  }

  private reply(callId: number, answer: Answer): void {
    if (!this.ops.delete(callId) || this.closed) return;
    const meta: ReplyMeta = { status: 200, headers: answer.headers };
    try {
      this.deps.send(FrameKind.REPLY, callId, meta, answer.body);
    } catch (err) {
      // a value larger than a frame may carry (a cap raised past the frame limit): still an answer
      this.fail(callId, 'SKIFF_E_STATE_TOO_LARGE', (err as Error).message);
    }
  }

  private failed(callId: number, err: unknown): void {
    if (!this.ops.delete(callId) || this.closed) return;
    const error =
      err instanceof SkiffError
        ? err
        : new SkiffError('SKIFF_E_INTERNAL', 'the state operation failed inside the platform', {
            cause: err,
          });
    this.fail(callId, error.code, error.message);
  }

  private fail(callId: number, code: string, message: string): void {
    if (this.closed) return;
    const meta: FailMeta = { code, message };
    try {
      this.deps.send(FrameKind.FAIL, callId, meta);
    } catch {
      // a FAIL is small; a stream that cannot take it is ending anyway
    }
  }
}

function keyOf(meta: StateMeta): string {
  if (meta.key === undefined) {
    throw new SkiffError('SKIFF_E_INVALID_STATE_KEY', `a state ${meta.op} needs a key`);
  }
  return meta.key;
}

function contentTypeOf(meta: StateMeta): StateContentType {
  const type = meta.contentType ?? 'application/octet-stream';
  // the media type decides; parameters such as `; charset=utf-8` are dropped (JSON is UTF-8 anyway)
  const media = (type.split(';')[0] ?? '').trim().toLowerCase();
  const known = STATE_CONTENT_TYPES.find((t) => t === media);
  if (known === undefined) {
    throw new SkiffError(
      'SKIFF_E_INVALID_REQUEST',
      `a state value is stored as ${STATE_CONTENT_TYPES.join(' or ')}, not ${JSON.stringify(type.slice(0, 64))}`,
    );
  }
  return known;
}
