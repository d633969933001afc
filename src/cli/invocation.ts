/** `skiff invocation <verb>`: the status and result of asynchronous invocations. */
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { SkiffClient } from './client.js';
import { globalOptions, parsePositiveInt, withExamples } from './options.js';
import { formatTime, printJson, renderKeyValue, renderTable } from './output.js';

interface AsyncView {
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
  children?: string[];
  childrenCount?: number;
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
async function listChain(client: SkiffClient, rootId: string): Promise<AsyncView[]> {
  const { body } = await client.api<{ invocations: AsyncView[] }>('GET', '/v1/invocations', {
    query: { rootId, limit: 1000 },
  });
  return body.invocations;
}

/** A chain's invocations, oldest first, with who made each. */
function chainTable(chain: AsyncView[]): string {
  return renderTable(
    ['ID', 'FUNCTION', 'CALLER', 'PARENT', 'STATUS', 'CREATED'],
    [...chain]
      .reverse()
      .map((i) => [i.id, i.function, i.caller ?? '-', i.parentId ?? '-', i.status, formatTime(i.createdAt)]),
  );
}

export function registerInvocation(program: Command): void {
  const noun = program.command('invocation').description('asynchronous invocations: status and results');
  withExamples(
    noun
      .command('get')
      .description(
        'show one: status, attempts, the result or the error, and its invocation tree (parent, root, casts it made)',
      )
      .argument('<id>', 'the id from `skiff invoke --async` (or the 202 of an async call)')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        const { json, target } = globalOptions(cmd);
        const client = new SkiffClient(target);
        let body: { invocation: AsyncView };
        try {
          ({ body } = await client.api<{ invocation: AsyncView }>(
            'GET',
            `/v1/invocations/${encodeURIComponent(id)}`,
          ));
        } catch (err) {
          // a synchronous invocation has no record, but the casts of its chain do
          if (!(err instanceof SkiffError) || err.code !== 'SKIFF_E_INVOCATION_NOT_FOUND') throw err;
          const chain = await listChain(client, id);
          if (chain.length === 0) throw err;
          if (json) return printJson({ rootId: id, invocations: chain });
          console.log(`Invocation ${id} has no record (it ran synchronously); the chain it started:`);
          console.log(chainTable(chain));
          return;
        }
        if (json) return printJson(body);
        const i = body.invocation;
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
            ['Result', i.result === null ? '-' : `status ${i.result.status}`],
            ['Error', i.error === null ? '-' : `${i.error.code}: ${i.error.message}`],
            ...treeRows(i),
          ]),
        );
        // the casts it made, one id a line (`skiff invocation get <id>` walks down the tree)
        const listed = i.children ?? [];
        for (const child of listed) console.log(`  ${child}`);
        const more = (i.childrenCount ?? listed.length) - listed.length;
        if (more > 0) console.log(`  … and ${more} more (skiff invocation list --root <root id>)`);
        if (i.result !== null) process.stdout.write(Buffer.from(i.result.body, 'base64'));
      }),
    'skiff invocation get 6f0c2d1e-…',
  );
  withExamples(
    noun
      .command('list')
      .description('list them, newest first')
      .option('--function <name>', 'only this function’s')
      .option('--status <status>', 'queued, running, succeeded, failed or expired')
      .option('--root <id>', 'only the chain started by this invocation (the casts below it)')
      .option('--limit <n>', 'at most this many (default 20)', parsePositiveInt('--limit'))
      .action(
        async (opts: { function?: string; status?: string; root?: string; limit?: number }, cmd: Command) => {
          const { json, target } = globalOptions(cmd);
          const { body } = await new SkiffClient(target).api<{ invocations: AsyncView[] }>(
            'GET',
            '/v1/invocations',
            {
              query: {
                function: opts.function,
                status: opts.status,
                rootId: opts.root,
                limit: opts.limit ?? 20,
              },
            },
          );
          if (json) return printJson(body);
          if (opts.root !== undefined) return console.log(chainTable(body.invocations));
          console.log(
            renderTable(
              ['ID', 'FUNCTION', 'TRIGGER', 'STATUS', 'ATTEMPTS', 'CREATED'],
              body.invocations.map((i) => [
                i.id,
                i.function,
                i.trigger,
                i.status,
                String(i.attempts),
                formatTime(i.createdAt),
              ]),
            ),
          );
        },
      ),
    'skiff invocation list --function greet --status failed',
  );
}
