/**
 * `skiff invocation get <id>`: one asynchronous invocation. `--output body` writes the stored
 * result's bytes and nothing else (for `> file` and pipes); `--wait` waits for a final status first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { SkiffClient } from './client.js';
import { globalOptions, usageError } from './options.js';
import { formatTime, printable, printJson, renderKeyValue, renderTable } from './output.js';
import { utf8Text } from './response-body.js';

export interface AsyncView {
  id: string;
  function: string;
  trigger: string;
  status: string;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
  result: { status: number; body: string } | null;
  error: { code: string; message: string } | null;
  parentId?: string | null;
  rootId?: string | null;
  caller?: string | null;
  nextAt?: string;
  traceId?: string | null;
  children?: string[];
  childrenCount?: number;
}

export interface GetOptions {
  output?: string;
  wait?: boolean;
  timeout?: number;
}

const OUTPUTS = ['summary', 'body', 'json'] as const;
const FINAL = new Set(['succeeded', 'failed', 'expired']);
const HELP = 'skiff invocation get';

export async function getInvocation(id: string, opts: GetOptions, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const output = json ? 'json' : (opts.output ?? 'summary');
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw usageError(`--output must be one of ${OUTPUTS.join(', ')}, got '${output}'`, HELP);
  }
  const client = new SkiffClient(target);
  let view: AsyncView;
  try {
    view = await fetchView(client, id, opts);
  } catch (err) {
    // a synchronous invocation has no record, but the casts of its chain do
    if (!(err instanceof SkiffError) || err.code !== 'SKIFF_E_INVOCATION_NOT_FOUND' || output === 'body')
      throw err;
    const chain = await listChain(client, id);
    if (chain.length === 0) throw err;
    if (output === 'json') return printJson({ rootId: id, invocations: chain });
    console.log(`Invocation ${id} has no record (it ran synchronously); the chain it started:`);
    console.log(chainTable(chain));
    return;
  }
  if (output === 'json') return printJson({ invocation: view });
  if (output === 'body') return writeBody(view);
  printSummary(view);
}

/** The record, and with `--wait` the record once its status is final (polled, bounded by --timeout). */
async function fetchView(client: SkiffClient, id: string, opts: GetOptions): Promise<AsyncView> {
  const path = `/v1/invocations/${encodeURIComponent(id)}`;
  const deadline = Date.now() + (opts.timeout ?? 60) * 1000;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    const { body } = await client.api<{ invocation: AsyncView }>('GET', path);
    if (opts.wait !== true || FINAL.has(body.invocation.status)) return body.invocation;
    if (Date.now() + pause > deadline) {
      throw new SkiffError(
        'SKIFF_E_CLI_NO_RESULT',
        `invocation ${id} is still ${body.invocation.status} after ${opts.timeout ?? 60} s; run the command again later, or pass a longer --timeout`,
      );
    }
    await sleep(pause);
  }
}

/** The result's bytes on stdout, exactly as the function answered; exit 1 when the call failed. */
function writeBody(view: AsyncView): void {
  if (view.result === null) {
    throw new SkiffError(
      'SKIFF_E_CLI_NO_RESULT',
      view.error !== null
        ? `invocation ${view.id} ${view.status} without a result: ${view.error.code}: ${view.error.message}`
        : `invocation ${view.id} is ${view.status} and has no result yet; add --wait to wait for it`,
    );
  }
  process.stdout.write(Buffer.from(view.result.body, 'base64'));
  if (view.result.status >= 400) process.exitCode = 1;
}

function printSummary(i: AsyncView): void {
  const bytes = i.result === null ? undefined : Buffer.from(i.result.body, 'base64');
  console.log(
    renderKeyValue([
      ['Id', i.id],
      ['Function', i.function],
      ['Trigger', i.trigger],
      ['Status', i.status],
      ['Attempts', String(i.attempts)],
      ['Created', formatTime(i.createdAt)],
      ['Due', formatTime(i.nextAt)],
      ['Finished', formatTime(i.finishedAt)],
      ['Result', i.result === null ? '-' : `status ${i.result.status}, ${bytes?.length ?? 0} bytes`],
      ['Error', i.error === null ? '-' : printable(`${i.error.code}: ${i.error.message}`)],
      ['Trace', i.traceId ?? '-'],
      ...treeRows(i),
    ]),
  );
  // the casts it made, one id a line (`skiff invocation get <id>` walks down the tree)
  const listed = i.children ?? [];
  for (const child of listed) console.log(`  ${child}`);
  const more = (i.childrenCount ?? listed.length) - listed.length;
  if (more > 0) console.log(`  … and ${more} more (skiff invocation list --root <root id>)`);
  if (bytes === undefined || bytes.length === 0) return;
  // text is shown with its control characters escaped (the function's, not the user's terminal
  // commands); bytes that are not text would garble the terminal; --output body writes them as they are
  const raw = utf8Text(bytes);
  const text = raw === undefined ? undefined : printable(raw);
  if (text !== undefined) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  else console.log(`(${bytes.length} bytes that are not text: --output body writes them)`);
}

/** The invocation tree of one invocation: who made it, its root, and the casts it made. */
function treeRows(i: AsyncView): [string, string][] {
  const rows: [string, string][] = [];
  if (i.caller != null) rows.push(['Caller', i.caller]);
  rows.push(['Parent', i.parentId ?? '-']);
  rows.push(['Root', i.rootId ?? (i.parentId == null ? `${i.id} (itself)` : '-')]);
  rows.push(['Children', String(i.childrenCount ?? i.children?.length ?? 0)]);
  return rows;
}

/** The recorded invocations of the chain under `rootId` (at most 1000). */
export async function listChain(client: SkiffClient, rootId: string): Promise<AsyncView[]> {
  const { body } = await client.api<{ invocations: AsyncView[] }>('GET', '/v1/invocations', {
    query: { rootId, limit: 1000 },
  });
  return body.invocations;
}

/** A chain's invocations, oldest first, with who made each. */
export function chainTable(chain: AsyncView[]): string {
  return renderTable(
    ['ID', 'FUNCTION', 'CALLER', 'PARENT', 'STATUS', 'CREATED'],
    [...chain]
      .reverse()
      .map((i) => [i.id, i.function, i.caller ?? '-', i.parentId ?? '-', i.status, formatTime(i.createdAt)]),
  );
}
