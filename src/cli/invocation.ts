/** `skiff invocation <verb>`: the status and result of asynchronous invocations. */
import type { Command } from 'commander';
import { SkiffClient } from './client.js';
import { chainTable, getInvocation, type AsyncView, type GetOptions } from './invocation-get.js';
import { globalOptions, parsePositiveInt, withExamples } from './options.js';
import { formatTime, printJson, renderTable } from './output.js';

export function registerInvocation(program: Command): void {
  const noun = program.command('invocation').description('asynchronous invocations: status and results');
  withExamples(
    noun
      .command('get')
      .description(
        'show one: status, attempts, the result or the error, and its invocation tree (parent, root, casts it made)',
      )
      .argument('<id>', 'the id from `skiff invoke --async` (or the 202 of an async call)')
      .option(
        '-o, --output <what>',
        'summary (default: the record, then the result if it is text), body (only the result bytes, for > file and pipes) or json',
      )
      .option('--wait', 'wait until the invocation succeeded, failed or expired (see --timeout)')
      .option('--timeout <seconds>', 'how long --wait waits (default 60)', parsePositiveInt('--timeout'))
      .action((id: string, opts: GetOptions, cmd: Command) => getInvocation(id, opts, cmd)),
    'skiff invocation get 6f0c2d1e-…',
    'skiff invocation get "$(skiff invoke report --async --data @input.json)" --wait --output body > report.pdf',
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
