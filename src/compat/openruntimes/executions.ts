/**
 * One execution (`POST /v1/runtimes/:id/executions`): the runtime made ready (a cold start when the
 * client gave `image` and `source`), the request sent to its function with upstream's runtime headers,
 * the lines the run logged gathered into upstream's `logs` (level info) and `errors` (level error),
 * each capped at 5 MiB. A run that ended, even badly, is an outcome (status 200); only the executor's
 * own refusals are errors.
 */
import { randomUUID } from 'node:crypto';
import type { HeaderPairs, Invocation, Result } from '../../model/invocation.js';
import { toSkiffError } from '../../shared/errors.js';
import { safeHost } from '../../triggers/http.js';
import type { FileLogStore } from '../../store/file-logs.js';
import { responseHeaders, type ExecutionOutcome } from './execution-reply.js';
import type { Runtimes } from './runtimes.js';
import type { ExecuteParams } from './schemas.js';

/** Upstream's cap of `logs` and of `errors`, and the suffixes of a cut one. */
export const MAX_LOG_BYTES = 5 * 1024 * 1024;
const LOGS_CUT = '\nLog file has been truncated to 5.00MB.';
const ERRORS_CUT = '\nError file has been truncated to 5.00MB.';

/** How long past the execution's own timeout the platform waits before it stops the run itself. */
const DEADLINE_GRACE_MS = 5000;

/** Request headers the executor sets itself, and hop-by-hop ones that do not pass. */
const DROPPED = new Set([
  'x-open-runtimes-secret',
  'x-open-runtimes-timeout',
  'x-open-runtimes-logging',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
]);

/** A text capped at MAX_LOG_BYTES (UTF-16 units stand in for bytes), with its suffix once cut. */
class CappedText {
  private parts: string[] = [];
  private size = 0;
  private cut = false;

  constructor(private readonly suffix: string) {}

  add(line: string): void {
    if (this.cut) return;
    const text = `${line}\n`;
    if (this.size + text.length > MAX_LOG_BYTES) {
      this.parts.push(text.slice(0, MAX_LOG_BYTES - this.size), this.suffix);
      this.cut = true;
      return;
    }
    this.parts.push(text);
    this.size += text.length;
  }

  text(): string {
    return this.parts.join('');
  }
}

export interface ExecutionDeps {
  runtimes: Runtimes;
  logs: FileLogStore;
  invoke(inv: Invocation): Promise<Result>;
}

/** Runs one execution; `started` is when the request came (the duration counts the cold start). */
export async function execute(
  deps: ExecutionDeps,
  runtimeId: string,
  params: ExecuteParams,
  format: string,
  started: number,
): Promise<ExecutionOutcome> {
  const record = await deps.runtimes.ensure(runtimeId, params);
  const done = deps.runtimes.use(runtimeId);
  try {
    const finish = (
      statusCode: number,
      headers: HeaderPairs,
      body: Buffer,
      logs: string,
      errors: string,
    ) => ({
      statusCode,
      headers: responseHeaders(headers, format),
      body: params.method === 'HEAD' ? Buffer.alloc(0) : body,
      logs: params.logging ? logs : '',
      errors: params.logging ? errors : '',
      duration: (Date.now() - started) / 1000,
      startTime: started / 1000,
    });
    if (record.failure !== null) {
      return finish(record.failure.statusCode, [], Buffer.alloc(0), '', `${record.failure.error}\n`);
    }
    const target = params.path.startsWith('/') ? params.path : `/${params.path}`;
    const q = target.indexOf('?');
    const headers: HeaderPairs = [];
    for (const [name, value] of Object.entries(params.headers)) {
      if (!DROPPED.has(name.toLowerCase())) headers.push([name.toLowerCase(), value]);
    }
    headers.push(
      ['x-open-runtimes-secret', record.secret],
      ['x-open-runtimes-timeout', String(params.timeout)],
      ['x-open-runtimes-logging', params.logging ? 'enabled' : 'disabled'],
    );
    // the client's Host, as the gateway takes one: anything but a plain host[:port] is localhost
    const host = safeHost(params.headers['host'] ?? params.headers['Host']);
    const inv: Invocation = {
      id: randomUUID(),
      function: record.fn,
      trigger: 'http',
      method: params.method,
      path: q === -1 ? target : target.slice(0, q),
      query: q === -1 ? '' : target.slice(q + 1),
      headers,
      body: typeof params.body === 'string' ? Buffer.from(params.body) : params.body,
      deadline: Date.now() + params.timeout * 1000 + DEADLINE_GRACE_MS,
      host,
    };
    const logs = new CappedText(LOGS_CUT);
    const errors = new CappedText(ERRORS_CUT);
    const unwatch = deps.logs.watch(inv.id, (entry) => {
      if (entry.stream === 'platform') return;
      if (entry.level === 'error') errors.add(entry.message);
      else logs.add(entry.message);
    });
    try {
      const result = await deps.invoke(inv);
      // lines of the run still on their way (they are sent before the result, but read apart)
      await new Promise((resolve) => setImmediate(resolve));
      return finish(result.status, result.headers, result.body, logs.text(), errors.text());
    } catch (err) {
      const failure = toSkiffError(err);
      errors.add(failure.code === 'SKIFF_E_TIMEOUT' ? 'Execution timed out.' : failure.message);
      return finish(500, [], Buffer.alloc(0), logs.text(), errors.text());
    } finally {
      unwatch();
    }
  } finally {
    done();
  }
}
