/**
 * `ctx.cast`: one function queueing an invocation of another (docs/composition.md, "Casts"). The
 * executor hands every CAST frame to this host (it knows the interface only, src/executor/calls.ts);
 * each target becomes one asynchronous invocation with trigger `cast`, written durably to the async
 * queue before the caster hears back, so the queue's retries, dead letters, caps and SKIFF_E_QUEUE_FULL
 * apply as to any async call. The rails of calls apply too: the request is checked like a call's, a
 * target's `access.callers` may refuse the caster (SKIFF_E_FORBIDDEN), and the chain's depth is bounded
 * (a cast cycle ends at the limit with SKIFF_E_CALL_DEPTH). A cast's run carries its place in the
 * invocation tree (caller, parent, root, depth), kept on its queue row. docs/guarantees.md G11.
 */
import { childTrace } from '../shared/trace-context.js';
import { SkiffError } from '../shared/errors.js';
import { MAX_CAST_DELAY_MS, type CallerContext, type CastHost, type CastRequest } from '../executor/calls.js';
import type { Deployment } from '../model/deployment.js';
import type { NewAsync } from './async-queue.js';
import { CALL_HOST, requestProblem } from './function-calls.js';

export { MAX_CAST_DELAY_MS };

export interface FunctionCastsOptions {
  /**
   * Writes groups of async invocations durably in one transaction, each group whole or not at all
   * (AsyncQueue.acceptGroups): per group its ids or its refusal (QUEUE_FULL, DISK_FULL).
   */
  acceptGroups(groups: readonly (readonly NewAsync[])[]): (string[] | SkiffError)[];
  /** How many casts the chain under a root has made so far, counted up to `cap` (QueueStore.chainSize). */
  chainSize(rootId: string, cap: number): number;
  /** Whether a cast with this key is queued already (a retried attempt's cast; QueueStore.hasCastKey). */
  hasCastKey?(key: string): boolean;
  /** The most casts one chain may make in all (functions.maxChainCasts). */
  maxChainCasts: number;
  /** The live deployment of a function (throws SKIFF_E_FUNCTION_NOT_FOUND), for its `access.callers`. */
  resolve(name: string): Pick<Deployment, 'callers'>;
  /** The largest body of a cast (async.maxBodyBytes, as for an async HTTP call). */
  maxBodyBytes: number;
  /** The deepest chain allowed (functions.maxCallDepth): a cast whose run would be deeper is refused. */
  maxDepth: number;
  /**
   * The functions a cast from `caller` to `name` goes to: a workflow output alias may map to several or
   * to none. Default: `[name]`.
   */
  targets?: (caller: string, name: string) => readonly string[];
}

interface Pending {
  rootId: string;
  from: string;
  rows: NewAsync[];
  resolve: (ids: string[]) => void;
  reject: (err: Error) => void;
}

export class FunctionCasts implements CastHost {
  /** Casts checked and waiting for the next write (all casts of one turn of the event loop). */
  private pending: Pending[] = [];

  constructor(private readonly opts: FunctionCastsOptions) {}

  /**
   * Checks the cast at once, then queues it with every other cast made in the same turn of the event
   * loop in one transaction: a burst of casts costs one fsync, and never blocks the loop per cast.
   */
  cast(caster: CallerContext, request: CastRequest): Promise<string[]> {
    let checked: { rootId: string; from: string; rows: NewAsync[] };
    try {
      checked = this.check(caster, request);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (checked.rows.length === 0) return Promise.resolve([]);
    return new Promise<string[]>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ ...checked, resolve, reject });
    });
  }

  /** Writes the casts waiting; a chain over its budget of casts is refused, nothing of it written. */
  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    try {
      this.write(batch);
    } catch (err) {
      // the store failed (not a refusal): every cast not answered yet fails, nothing is thrown away
      const error =
        err instanceof SkiffError
          ? err
          : new SkiffError('SKIFF_E_INTERNAL', 'the casts could not be written', { cause: err });
      for (const p of batch) p.reject(error);
    }
  }

  private write(batch: readonly Pending[]): void {
    const { maxChainCasts } = this.opts;
    const made = new Map<string, number>();
    const admitted: Pending[] = [];
    for (const p of batch) {
      const before = made.get(p.rootId) ?? this.opts.chainSize(p.rootId, maxChainCasts + 1);
      // a retried attempt's cast finds what its first attempt queued: it makes nothing new
      // (looked up only at the budget: below it every cast is admitted anyway)
      const fresh =
        before + p.rows.length <= maxChainCasts
          ? p.rows
          : p.rows.filter((r) => r.castKey == null || this.opts.hasCastKey?.(r.castKey) !== true);
      if (fresh.length > 0 && before + fresh.length > maxChainCasts) {
        made.set(p.rootId, before);
        p.reject(
          new SkiffError(
            'SKIFF_E_TOO_MANY_REQUESTS',
            `${p.from} would take the casts made under invocation ${p.rootId} past functions.maxChainCasts (${maxChainCasts}); a chain of casts is bounded in all, not only in depth`,
          ),
        );
        continue;
      }
      made.set(p.rootId, before + fresh.length);
      admitted.push(p);
    }
    const outcomes = this.opts.acceptGroups(admitted.map((p) => p.rows));
    admitted.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined || outcome instanceof Error) p.reject(outcome ?? new Error('not written'));
      else p.resolve(outcome);
    });
  }

  /** Checks the whole cast and builds one row per target; throws the refusal as a SkiffError. */
  private check(
    caster: CallerContext,
    request: CastRequest,
  ): { rootId: string; from: string; rows: NewAsync[] } {
    const parent = caster.invocation;
    const from = `the cast from ${parent.function} to ${request.function}`;
    const depth = (parent.depth ?? 0) + 1;
    if (depth > this.opts.maxDepth) {
      throw new SkiffError(
        'SKIFF_E_CALL_DEPTH',
        `${from} would run ${depth} calls or casts deep, more than functions.maxCallDepth (${this.opts.maxDepth}); is there a cycle?`,
      );
    }
    const { delayMs } = request;
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_CAST_DELAY_MS) {
      throw new SkiffError(
        'SKIFF_E_INVALID_REQUEST',
        `${from} asks for a delay of ${String(delayMs)} ms: a delay is a whole number of milliseconds from 0 to ${MAX_CAST_DELAY_MS} (24 hours)`,
      );
    }
    if (request.body.length > this.opts.maxBodyBytes) {
      throw new SkiffError(
        'SKIFF_E_PAYLOAD_TOO_LARGE',
        `${from} has a body of ${request.body.length} bytes, more than async.maxBodyBytes (${this.opts.maxBodyBytes})`,
      );
    }
    const malformed = requestProblem(request);
    if (malformed !== undefined) throw new SkiffError('SKIFF_E_INVALID_REQUEST', `${from} ${malformed}`);
    const targets = this.opts.targets?.(parent.function, request.function) ?? [request.function];
    // every target is checked before any is written: a refused cast queues nothing
    for (const target of targets) {
      const { callers } = this.opts.resolve(target);
      if (callers !== null && !callers.includes(parent.function)) {
        throw new SkiffError(
          'SKIFF_E_FORBIDDEN',
          `${target} does not accept casts from ${parent.function}: its skiff.json access.callers lists ${callers.length === 0 ? 'no function' : callers.join(', ')}`,
        );
      }
    }
    const query = request.path.indexOf('?');
    const chain = {
      caller: parent.function,
      parentId: parent.id,
      rootId: parent.rootId ?? parent.id,
      depth,
    };
    const rows = targets.map((target): NewAsync => ({
      function: target,
      trigger: 'cast',
      method: request.method,
      path: query < 0 ? request.path : request.path.slice(0, query),
      query: query < 0 ? '' : request.path.slice(query + 1),
      headers: request.headers,
      body: request.body,
      host: CALL_HOST,
      callbackUrl: null,
      delayMs,
      chain,
      ...(parent.trace === undefined ? {} : { trace: childTrace(parent.trace) }),
      // the same cast of a retried attempt finds what the first attempt queued
      castKey: request.seq === undefined ? null : `${parent.id}#${request.seq}#${target}`,
    }));
    return { rootId: chain.rootId, from, rows };
  }
}
