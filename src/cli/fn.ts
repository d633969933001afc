/** `skiff fn <verb>`: deploy, list, inspect and delete functions through the management API. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { SkiffClient } from './client.js';
import { registerRollback } from './rollback.js';
import { registerTraffic } from './traffic.js';
import { renderFunction } from './fn-view.js';
import type { SymlinkMode } from './upload.js';
import { buildEvents, withoutBuildLog } from './deploy-progress.js';
import { sendDeploy } from './deploy-request.js';
import { RUNTIME_INFERRED } from '../languages/infer-runtime.js';
import { registerScale, scalingFromFlags, withScalingFlags } from './scale.js';
import { registerFnToken } from './fn-token.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { formatTime, printJson, renderTable, shortHash, startSpinner } from './output.js';
import { readSpecName } from './spec-name.js';
import { RUNTIME_NAMES } from '../model/names.js';

/** "node, python, binary, custom or http": the spec's runtime names, for the help text. */
const RUNTIME_CHOICES = `${RUNTIME_NAMES.slice(0, -1).join(', ')} or ${RUNTIME_NAMES.at(-1) ?? ''}`;

export interface FunctionSummary {
  name: string;
  runtime: string;
  liveVersion: number | null;
  hash: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Version {
  version: number;
  hash: string;
  status: 'ready' | 'failed';
  live: boolean;
  createdAt: string;
  /** In a function's detail only the live version's (GET …/versions/{version} has any version's). */
  buildLog?: string;
  buildMs: number;
}

export interface Instance {
  id: string;
  version: number;
  state: string;
  pid: number | null;
  inFlight: number;
  startedAt: string | null;
  uptimeMs?: number | null;
  rssBytes?: number | null;
  /** memory.current of the instance's cgroup (what its limit counts). */
  cgroupMemoryBytes?: number | null;
  served?: number;
}

/** The live version's settings with every default applied (secrets by name only). */
export interface ResolvedSpec {
  version: number;
  runtime: string;
  handler: string;
  flavor: string;
  command: string[] | null;
  env: Record<string, string>;
  secrets: string[];
  triggers: {
    mqtt: { subscribe: string; publish?: string }[];
    cron: { schedule: string; timezone?: string }[];
  };
  timeoutMs: number;
  startTimeoutMs: number;
  limits: Record<string, number>;
  network: string;
  access: { callers: string[] | null; private: boolean };
}

export interface FunctionStatus {
  queued: number;
  inFlight: number;
  coldStarts: number;
  starts: number;
  failures: number;
  backoffUntil: string | null;
  recentErrors: { at: string; code: string; message: string }[];
}

export interface FunctionDetail extends FunctionSummary {
  handler: string | null;
  spec: object | null;
  versions: Version[];
  instances: Instance[];
  scaling?: Record<string, number>;
  scalingOverride?: Record<string, number> | null;
  status?: FunctionStatus;
  traffic?: { version: number; percent: number }[];
  resolved?: ResolvedSpec | null;
}

export interface DeployOptions {
  name?: string;
  symlinks?: string;
  runtime?: string;
  handler?: string;
  [flag: string]: unknown;
}

function symlinkMode(value: string | undefined): SymlinkMode {
  if (value === undefined || value === 'refuse' || value === 'skip' || value === 'follow')
    return value ?? 'refuse';
  throw usageError(`--symlinks ${value}: use refuse, skip or follow`, 'skiff fn deploy');
}

export function registerFn(program: Command): void {
  const fn = program.command('fn').description('deploy and manage functions');
  withExamples(fn, 'skiff fn deploy ./hello', 'skiff fn list', 'skiff fn get hello', 'skiff fn delete hello');

  // `skiff deploy` (the faas-cli and wrangler habit) is the same command as `skiff fn deploy`
  for (const [parent, path] of [
    [fn, 'skiff fn deploy'],
    [program, 'skiff deploy'],
  ] as const) {
    withExamples(
      withScalingFlags(
        parent
          .command('deploy')
          .description(
            path === 'skiff deploy'
              ? 'the same as `skiff fn deploy`: deploy a folder (or an archive of one) as a new version'
              : 'deploy a folder (or a .tar.gz / .zip of one) as a new version of a function',
          )
          .argument('<dir>', 'the function folder, or a .tar.gz / .tgz / .zip archive of it')
          .option('--name <name>', 'function name (default: "name" in skiff.json, else the folder name)')
          .option(
            '--runtime <runtime>',
            `runtime: ${RUNTIME_CHOICES} (default: from skiff.json, else inferred from the files)`,
          )
          .option('--handler <file>', 'the entry file (default: from skiff.json, else the runtime default)')
          .option(
            '--symlinks <mode>',
            'symbolic links in the folder: refuse (default), skip, or follow (pack what they point at)',
          ),
      ).action((dir: string, opts: DeployOptions, cmd: Command) => deploy(dir, opts, cmd)),
      `${path} ./hello`,
      `${path} ./api --name orders --runtime python --handler main.py`,
      `${path} ./api --min 1 --max 4 --concurrency 10`,
    );
  }
  registerScale(fn);
  registerRollback(fn);
  registerTraffic(fn);
  registerFnToken(fn);

  withExamples(
    fn
      .command('list')
      .alias('ls')
      .description('list the deployed functions')
      .action((_opts: unknown, cmd: Command) => list(cmd)),
    'skiff fn list',
    'skiff fn list --json',
  );

  withExamples(
    fn
      .command('get')
      .description('show a function: its versions, running instances and latest build output')
      .argument('<name>', 'function name')
      .action((name: string, _opts: unknown, cmd: Command) => get(name, cmd)),
    'skiff fn get hello',
  );

  withExamples(
    fn
      .command('delete')
      .alias('rm')
      .description('delete a function with all its versions')
      .argument('<name>', 'function name')
      .action((name: string, _opts: unknown, cmd: Command) => remove(name, cmd)),
    'skiff fn delete hello',
  );
}

function functionPath(name: string): string {
  return `/v1/functions/${encodeURIComponent(name)}`;
}

export async function deploy(folder: string, opts: DeployOptions, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const client = new SkiffClient(target);
  const source = await readSource(folder);
  const name = opts.name ?? source.specName ?? source.defaultName;
  client.controlUrl(); // fail fast, before packing, when no platform is configured

  const spinner = startSpinner(`Deploying ${name}…`, { enabled: !json });
  let result: { status: number; body: { function?: FunctionDetail; version?: Version } };
  let seconds: number;
  // the build's steps on the spinner, its lines on stderr as they come (the result stays on stdout)
  const shown = { lines: 0, cut: false };
  const events = buildEvents(spinner, !json && process.stderr.isTTY !== true, shown);
  try {
    // loaded at a deploy (tar): no other command needs it
    const { checkUploadSize, packUpload } = await import('./upload.js');
    const upload = await packUpload(source, symlinkMode(opts.symlinks), client.dataDir);
    await checkUploadSize(client, upload);
    result = await sendDeploy(client, {
      method: 'PUT',
      path: functionPath(name),
      query: { runtime: opts.runtime, handler: opts.handler, ...scalingFromFlags(opts) },
      body: upload.body,
      contentType: source.contentType,
      events,
    });
  } catch (err) {
    // the build log was shown whole as it came: the error need not repeat it (--json keeps it)
    throw json || shown.lines === 0 || shown.cut ? err : withoutBuildLog(err);
  } finally {
    seconds = spinner.stop();
  }

  if (json) {
    printJson(result.body);
    return;
  }
  const deployedName = result.body.function?.name ?? name;
  const version = result.body.version;
  const what = version ? ` version ${version.version} (${shortHash(version.hash)})` : '';
  console.log(`✔ Deployed ${deployedName}${what} in ${seconds.toFixed(1)}s`);
  // neither skiff.json nor --runtime named the runtime: say which one the platform chose, and why
  const inferred = version?.buildLog?.split('\n').find((line) => line.includes(RUNTIME_INFERRED));
  if (inferred !== undefined) console.log(`  ${inferred.slice(inferred.indexOf(RUNTIME_INFERRED))}`);
  const gateway = client.gatewayUrl();
  if (gateway !== undefined) console.log(`  curl ${gateway}/${encodeURIComponent(deployedName)}`);
}

interface Source {
  kind: 'dir' | 'archive';
  path: string;
  contentType: string;
  specName: string | undefined;
  defaultName: string;
}

async function readSource(target: string): Promise<Source> {
  const abs = path.resolve(target);
  let info;
  try {
    info = await stat(abs);
  } catch {
    throw usageError(`no such folder or archive: ${target}`, 'skiff fn deploy');
  }
  if (info.isDirectory()) {
    return {
      kind: 'dir',
      path: abs,
      contentType: 'application/gzip',
      specName: await readSpecName(abs),
      defaultName: path.basename(abs).toLowerCase(),
    };
  }
  const base = path.basename(abs);
  const archive = /^(.*)\.(tar\.gz|tgz|zip)$/i.exec(base);
  if (!info.isFile() || archive === null) {
    throw usageError(`${target} is neither a folder nor a .tar.gz / .tgz / .zip archive`, 'skiff fn deploy');
  }
  return {
    kind: 'archive',
    path: abs,
    contentType: archive[2]?.toLowerCase() === 'zip' ? 'application/zip' : 'application/gzip',
    specName: undefined,
    defaultName: (archive[1] ?? base).toLowerCase(),
  };
}

async function list(cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { body } = await new SkiffClient(target).api<{ functions: FunctionSummary[] }>(
    'GET',
    '/v1/functions',
  );
  if (json) {
    printJson(body);
    return;
  }
  if (body.functions.length === 0) {
    console.log('No functions yet. Deploy one with `skiff fn deploy <dir>`.');
    return;
  }
  console.log(
    renderTable(
      ['NAME', 'RUNTIME', 'VERSION', 'HASH', 'UPDATED'],
      body.functions.map((f) => [
        f.name,
        f.runtime,
        f.liveVersion === null ? '-' : String(f.liveVersion),
        shortHash(f.hash),
        formatTime(f.updatedAt),
      ]),
    ),
  );
}

async function get(name: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { body } = await new SkiffClient(target).api<{ function: FunctionDetail }>('GET', functionPath(name));
  if (json) {
    printJson(body);
    return;
  }
  console.log(renderFunction(body.function));
}

async function remove(name: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  await new SkiffClient(target).api('DELETE', functionPath(name));
  if (json) printJson({ deleted: name });
  else console.log(`✔ Deleted ${name}`);
}
