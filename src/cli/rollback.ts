/** `skiff fn rollback <name> [--to <version>]`: an earlier ready version live again, without a build. */
import type { Command } from 'commander';
import { SkiffClient } from './client.js';
import { globalOptions, parsePositiveInt, withExamples } from './options.js';
import { printJson } from './output.js';

interface RollbackAnswer {
  function: string;
  from: number | null;
  version: { version: number };
}

export function registerRollback(fn: Command): void {
  withExamples(
    fn
      .command('rollback')
      .description('make an earlier version live again (default: the newest ready one before the live one)')
      .argument('<name>', 'function name')
      .option('--to <version>', 'the version to make live', parsePositiveInt('--to'))
      .action((name: string, opts: { to?: number }, cmd: Command) => rollback(name, opts, cmd)),
    'skiff fn rollback hello',
    'skiff fn rollback hello --to 3',
  );
}

async function rollback(name: string, opts: { to?: number }, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { body } = await new SkiffClient(target).api<RollbackAnswer>(
    'POST',
    `/v1/functions/${encodeURIComponent(name)}/rollback`,
    {
      body: Buffer.from(JSON.stringify(opts.to === undefined ? {} : { version: opts.to })),
      headers: { 'content-type': 'application/json' },
    },
  );
  if (json) printJson(body);
  else if (body.from === body.version.version) console.log(`${name}: version ${body.from} is live already`);
  else console.log(`✔ ${name}: version ${body.version.version} is live (was ${body.from ?? 'none'})`);
}
