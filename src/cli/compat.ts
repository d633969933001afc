/**
 * `skiff compat baetyl import <config.yml|module.yml>`: packs the base folder (the configuration's
 * folder, or the folder above `etc/baetyl/` in upstream's layout, or `--base`) with the code its
 * `codedir`s name, and posts it to `POST /v1/compat/baetyl/import` with the configuration's path inside
 * it (docs/compat/baetyl/import.md). Needs `skiff serve --baetyl`.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { ImportResult } from '../compat/baetyl/import-apply.js';
import { SkiffClient } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson, renderTable, startSpinner, withHint } from './output.js';
import { SkiffError } from '../shared/errors.js';

/** What `--json` prints for the commands here (json-output.ts lists every command's). */
export const COMPAT_JSON_OUTPUT: Readonly<Record<string, string>> = {
  'skiff compat baetyl import':
    '{ "format", "dryRun", "functions": [...] }: what was (or, with --dry-run, would be) deployed',
};

const WHERE = 'skiff compat baetyl import';

interface ImportOptions {
  runtimeConfig?: string[];
  base?: string;
  format?: string;
  dryRun?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerCompat(program: Command): void {
  const compat = program.command('compat').description("other platforms' formats, imported into Skiff");
  withExamples(compat, 'skiff compat baetyl import etc/baetyl/service.yml');
  const baetyl = compat.command('baetyl').description('OpenEdge / Baetyl (needs `skiff serve --baetyl`)');
  withExamples(baetyl, 'skiff compat baetyl import module.yml');
  withExamples(
    baetyl
      .command('import')
      .description(
        "deploy the functions and MQTT rules of a Baetyl 1.0 function manager's configuration or an OpenEdge 0.1.x module.yml",
      )
      .argument('<config>', 'the configuration file (service.yml, config.yml or module.yml)')
      .option(
        '--runtime-config <file>',
        "1.0: a runtime service's configuration, whose functions[] give handler and codedir (repeatable)",
        collect,
      )
      .option(
        '--base <dir>',
        "the folder codedirs are relative to, packed and sent (default: the config file's folder, or the folder above etc/baetyl/)",
      )
      .option('--format <format>', 'baetyl (1.0) or openedge (0.1.x); default: told from the keys')
      .option('--dry-run', 'show the Skiff functions and rules without deploying them')
      .action((config: string, opts: ImportOptions, cmd: Command) => runImport(config, opts, cmd)),
    'skiff compat baetyl import module.yml',
    'skiff compat baetyl import etc/baetyl/service.yml --runtime-config etc/baetyl/python.yml',
    'skiff compat baetyl import conf/service.yml --base . --dry-run',
  );
}

/**
 * What to send of the base folder: the configuration files and every function's codedir (and the
 * folders on the way), read from the configuration here, so that an unrelated file is never packed.
 * The server reads the configuration again and is the judge; a refusal here is the same as there.
 */
export async function packedPaths(
  base: string,
  configPath: string,
  runtimePaths: string[],
  format: 'baetyl' | 'openedge' | undefined,
): Promise<(rel: string) => boolean> {
  const read = async (rel: string) => ({ name: rel, text: await readFile(path.join(base, rel), 'utf8') });
  // the configuration reader (and its YAML parser) loads for this command only, not for `skiff serve`
  const { planImport } = await import('../compat/baetyl/import-config.js');
  const plan = planImport(
    {
      config: await read(configPath),
      runtimeConfigs: await Promise.all(runtimePaths.map(read)),
      ...(format === undefined ? {} : { format }),
    },
    // only the codedirs are wanted here: the platform's own facts make the warnings
    {
      maxInstancesCeiling: 100,
      maxTimeoutMs: Number.MAX_SAFE_INTEGER,
      maxMessageBytes: 0,
      brokerUrl: undefined,
    },
  );
  const wanted = [configPath, ...runtimePaths, ...plan.functions.map((fn) => fn.codedir)];
  if (wanted.includes('')) return () => true;
  return (rel) =>
    wanted.some((want) => want === rel || want.startsWith(`${rel}/`) || rel.startsWith(`${want}/`));
}

/** The base folder: `--base`, else the config's folder, or two above it when that is `…/etc/baetyl`. */
export function baseFolder(configFile: string, base: string | undefined): string {
  if (base !== undefined) return path.resolve(base);
  const folder = path.dirname(path.resolve(configFile));
  const parts = folder.split(path.sep);
  return parts.at(-1) === 'baetyl' && parts.at(-2) === 'etc' ? path.resolve(folder, '..', '..') : folder;
}

async function inside(base: string, file: string, what: string): Promise<string> {
  const abs = path.resolve(file);
  const info = await stat(abs).catch(() => undefined);
  if (info === undefined || !info.isFile()) throw usageError(`${what} ${file} is not a file`, WHERE);
  const rel = path.relative(base, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw usageError(`${what} ${file} is not inside the base folder ${base}: give --base`, WHERE);
  }
  return rel.split(path.sep).join('/');
}

async function runImport(config: string, opts: ImportOptions, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  if (opts.format !== undefined && opts.format !== 'baetyl' && opts.format !== 'openedge') {
    throw usageError('--format must be baetyl or openedge', WHERE);
  }
  const base = baseFolder(config, opts.base);
  const configPath = await inside(base, config, 'the configuration');
  const runtimePaths = await Promise.all(
    (opts.runtimeConfig ?? []).map((file) => inside(base, file, 'the runtime configuration')),
  );
  const format = opts.format as 'baetyl' | 'openedge' | undefined;
  const client = new SkiffClient(target);
  client.controlUrl(); // fail fast, before packing, when no platform is configured
  const sent = await packedPaths(base, configPath, runtimePaths, format);
  const query = new URLSearchParams({ config: configPath });
  for (const rel of runtimePaths) query.append('runtimeConfig', rel);
  if (opts.format !== undefined) query.set('format', opts.format);
  if (opts.dryRun === true) query.set('dryRun', 'true');

  const spinner = startSpinner(`${opts.dryRun === true ? 'Reading' : 'Importing'} ${configPath}…`, {
    enabled: !json,
  });
  let result: ImportResult;
  try {
    // Baetyl code ships its dependencies: node_modules is sent, only .git and .skiff are left out
    const { packDirectory } = await import('../store/archive/pack.js');
    const body = await packDirectory(base, {
      exclude: (rel) => !sent(rel) || rel.split('/').some((part) => part === '.git' || part === '.skiff'),
    });
    result = (
      await client
        .api<ImportResult>('POST', `/v1/compat/baetyl/import?${query.toString()}`, {
          body,
          headers: { 'content-type': 'application/gzip' },
        })
        .catch((err: unknown) => {
          // the route exists only with the Baetyl dialect on
          if (err instanceof SkiffError && err.code === 'SKIFF_E_NOT_FOUND') {
            throw withHint(err, 'start the platform with `skiff serve --baetyl` (compat.baetyl.enabled)');
          }
          throw err;
        })
    ).body;
  } finally {
    spinner.stop();
  }
  if (json) {
    printJson(result);
    return;
  }
  printResult(result);
}

function printResult(result: ImportResult): void {
  const kind = result.format === 'baetyl' ? 'Baetyl 1.0' : 'OpenEdge 0.1.x';
  if (result.dryRun) {
    console.log(`Dry run of a ${kind} configuration: these functions would be deployed (nothing was).`);
    printJson(result.functions);
  } else {
    console.log(`✔ Imported ${result.functions.length} function(s) from a ${kind} configuration`);
    console.log(
      renderTable(
        ['FUNCTION', 'VERSION', 'RUNTIME', 'HANDLER', 'MIN', 'MAX', 'TIMEOUT'],
        result.functions.map((fn) => [
          fn.name,
          fn.version === undefined ? '-' : String(fn.version),
          fn.runtime,
          fn.handler,
          String(fn.scaling.minInstances),
          String(fn.scaling.maxInstances),
          `${fn.timeoutMs / 1000}s`,
        ]),
      ),
    );
  }
  if (result.rules.length > 0) {
    console.log('');
    console.log(
      renderTable(
        ['SUBSCRIBE', 'FUNCTION', 'PUBLISH', 'QOS', 'PUBLISH QOS', 'ATTEMPTS'],
        result.rules.map((rule) => [
          rule.subscribe,
          rule.function,
          rule.publish ?? '-',
          String(rule.qos),
          String(rule.publishQos ?? rule.qos),
          String(rule.attempts ?? 1),
        ]),
      ),
    );
  }
  for (const warning of result.warnings) console.log(`⚠ ${warning}`);
}
