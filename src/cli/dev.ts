/**
 * `skiff dev <dir>`: deploys a folder as `skiff fn deploy` does, then watches it and redeploys on every
 * change (debounced, one deploy at a time), printing each deploy's outcome and following the function's
 * logs, until Ctrl+C. A failed deploy prints its error and the version before keeps serving.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { SkiffClient } from './client.js';
import { deploy, type DeployOptions } from './fn.js';
import { formatLogLine } from './logs.js';
import { globalOptions, parsePositiveInt, usageError, withExamples } from './options.js';
import { buildLogOf, formatError } from './output.js';
import { readSpecName } from './spec-name.js';

/** Quiet time after the last change before a redeploy. */
const DEFAULT_DEBOUNCE_MS = 300;
/** Changed paths remembered between two deploys, to name them. */
const MAX_NAMED = 100;

interface DevOptions {
  name?: string;
  runtime?: string;
  handler?: string;
  symlinks?: string;
  debounce?: number;
  logs?: boolean;
}

export function registerDev(program: Command): void {
  withExamples(
    program
      .command('dev')
      .description(
        'deploy a folder, then redeploy it on every change and follow its logs (Ctrl+C stops; the function stays deployed)',
      )
      .argument('<dir>', 'the function folder')
      .option('--name <name>', 'function name (default: "name" in skiff.json, else the folder name)')
      .option('--runtime <runtime>', 'runtime (default: from skiff.json, else inferred from the files)')
      .option('--handler <file>', 'the entry file (default: from skiff.json, else the runtime default)')
      .option('--symlinks <mode>', 'symbolic links in the folder: refuse (default), skip, or follow')
      .option(
        '--debounce <ms>',
        `quiet time after the last change before a redeploy (default ${DEFAULT_DEBOUNCE_MS})`,
        parsePositiveInt('--debounce'),
      )
      .option('--no-logs', "do not follow the function's logs")
      .action((dir: string, opts: DevOptions, cmd: Command) => dev(dir, opts, cmd)),
    'skiff dev ./hello',
    'skiff dev . --name hello-dev --no-logs',
  );
}

async function dev(dir: string, opts: DevOptions, cmd: Command): Promise<void> {
  const { target } = globalOptions(cmd);
  if (globalOptions(cmd).json) throw usageError('skiff dev prints text only; leave out --json', 'skiff dev');
  const abs = path.resolve(dir);
  const client = new SkiffClient(target);
  client.controlUrl(); // no platform configured: fail now, not at every save
  const name = opts.name ?? (await readSpecName(abs)) ?? path.basename(abs).toLowerCase();
  const deployOptions: DeployOptions = {
    ...(opts.name === undefined ? {} : { name: opts.name }),
    ...(opts.runtime === undefined ? {} : { runtime: opts.runtime }),
    ...(opts.handler === undefined ? {} : { handler: opts.handler }),
    ...(opts.symlinks === undefined ? {} : { symlinks: opts.symlinks }),
  };

  // loaded here (tar, the watcher, the log stream): no other command needs them
  const [{ foldersBelow }, { followFunctionLogs }, { Redeployer, watchFolder }] = await Promise.all([
    import('./upload.js'),
    import('./dev-logs.js'),
    import('./dev-watch.js'),
  ]);
  let deploys = 0;
  const changed = new Set<string>(); // since the last deploy began, at most MAX_NAMED
  const redeployer = new Redeployer(async () => {
    deploys += 1;
    if (changed.size > 0) console.log(`Changed: ${describeChanges(abs, changed)}`);
    changed.clear();
    try {
      await deploy(dir, deployOptions, cmd);
    } catch (err) {
      printFailure(err);
      process.stderr.write(
        deploys === 1
          ? 'Fix it and save: skiff dev deploys again.\n'
          : 'The version before keeps serving; fix it and save to deploy again.\n',
      );
    }
  }, opts.debounce ?? DEFAULT_DEBOUNCE_MS);

  const stopped = new AbortController();
  const watch = await watchFolder(
    abs,
    (rel) => {
      if (changed.size < MAX_NAMED) changed.add(rel);
      redeployer.changed();
    },
    (err) => {
      process.stderr.write(`✖ watching ${dir} failed: ${err.message}\n`);
      process.exitCode = 1;
      stopped.abort();
    },
    (warning) => process.stderr.write(`! ${warning}\n`),
    // a platform whose data folder is inside: its writes at every deploy and call are no change
    foldersBelow(abs, client.dataDir),
  );
  console.log(`Watching ${dir} (Ctrl+C stops watching; ${name} stays deployed)`);
  redeployer.now();

  const logs =
    opts.logs === false
      ? Promise.resolve()
      : followFunctionLogs(
          client,
          { name, signal: stopped.signal, onNotice: (m) => process.stderr.write(`! logs: ${m}\n`) },
          (entry) => {
            // the deploy prints its own outcome (and a failed build's output)
            if (entry.stream !== 'build') console.log(formatLogLine(entry));
          },
        ).catch((err: unknown) => {
          // watching goes on without them (too many log streams, a token that may not read logs)
          process.stderr.write(
            `! logs are not followed: ${err instanceof Error ? err.message : String(err)}\n`,
          );
        });

  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      console.log(`\nStopped watching ${dir}. ${name} stays deployed (skiff fn delete ${name} removes it).`);
      stopped.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    stopped.signal.addEventListener('abort', () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve();
    });
  });
  watch.close();
  redeployer.stop();
  await logs;
  // an upload still on its way is abandoned: the platform finishes it or drops it
  if (redeployer.busy) process.exit(process.exitCode ?? 0);
}

/** The changed paths that are still there (an editor's temporary files are not), or "files removed". */
function describeChanges(dir: string, changed: Set<string>): string {
  const present = [...changed].filter((rel) => rel !== '' && existsSync(path.join(dir, rel))).sort();
  if (present.length === 0) return 'files removed';
  const shown = present.slice(0, 5).join(', ');
  return present.length > 5 ? `${shown} and ${present.length - 5} more` : shown;
}

/** A failed deploy in the CLI's one error template, with the build output when there is one. */
function printFailure(err: unknown): void {
  const error =
    err instanceof SkiffError
      ? err
      : new SkiffError('SKIFF_E_INTERNAL', err instanceof Error ? err.message : String(err));
  let text = formatError(error);
  const build = buildLogOf(error);
  if (build !== undefined) {
    const header = build.version === undefined ? 'Build output:' : `Build output (version ${build.version}):`;
    text += `\n\n${header}\n${build.buildLog.replace(/\s+$/, '')}`;
  }
  process.stderr.write(`${text}\n`);
}
