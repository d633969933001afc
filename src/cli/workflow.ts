/**
 * `skiff workflow <verb>`: apply, show, list and delete workflows (`/v1/workflows`). `apply` sends a
 * JSON spec file as it is; the platform validates it and names each bad field.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { SkiffClient } from './client.js';
import { globalOptions, withExamples } from './options.js';
import { formatTime, printJson, renderTable, withHint } from './output.js';

interface WorkflowView {
  name: string;
  description?: string;
  functions: Record<string, Record<string, string[]>>;
  version: number;
  createdAt: string;
  updatedAt: string;
}
interface WorkflowSummary {
  name: string;
  description?: string;
  members: string[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

const workflowPath = (name: string) => `/v1/workflows/${encodeURIComponent(name)}`;

export function registerWorkflow(program: Command): void {
  const workflow = program
    .command('workflow')
    .description("map functions' output aliases to other functions (where ctx.cast('output', …) goes)");
  withExamples(
    workflow,
    'skiff workflow apply pipeline.json',
    'skiff workflow get pipeline',
    'skiff workflow list',
    'skiff workflow delete pipeline',
  );

  withExamples(
    workflow
      .command('apply')
      .description('create a workflow, or replace the one of that name, from a JSON spec file')
      .argument(
        '<file>',
        'the spec: { "name": "...", "functions": { "<fn>": { "<alias>": ["<fn>", ...] } } }, or a file in an enabled platform\'s format',
      )
      .option('--name <name>', 'the workflow name, for a file that names none (default: the file name)')
      .action((file: string, opts: { name?: string }, cmd: Command) => apply(file, opts.name, cmd)),
    'skiff workflow apply pipeline.json',
    'skiff workflow apply workflow-of-another-platform.json --name sensors',
  );

  withExamples(
    workflow
      .command('get')
      .description("show a workflow's mappings (--json: the spec with its version)")
      .argument('<name>', 'workflow name')
      .action((name: string, _opts: unknown, cmd: Command) => get(name, cmd)),
    'skiff workflow get pipeline',
    'skiff workflow get pipeline --json',
  );

  withExamples(
    workflow
      .command('list')
      .alias('ls')
      .description('list workflows and their member functions')
      .action((_opts: unknown, cmd: Command) => list(cmd)),
    'skiff workflow list',
  );

  withExamples(
    workflow
      .command('delete')
      .alias('rm')
      .description('delete a workflow: its members cast to plain function names again')
      .argument('<name>', 'workflow name')
      .action((name: string, _opts: unknown, cmd: Command) => remove(name, cmd)),
    'skiff workflow delete pipeline',
  );
}

/** A workflow name made of a file's base name: `My_Flow.json` → `my-flow`. */
export function nameFromFile(file: string): string {
  return path
    .basename(file)
    .replace(/\.[^.]*$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

async function readSpec(file: string, given: string | undefined): Promise<{ name: string; body: Buffer }> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (err) {
    throw new SkiffError('SKIFF_E_CLI_USAGE', `cannot read ${file}: ${(err as Error).message}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw withHint(
      new SkiffError('SKIFF_E_INVALID_WORKFLOW', `${file} is not JSON: ${(err as Error).message}`),
      'a workflow spec is a JSON object; see docs/composition.md#workflows',
    );
  }
  const named = (spec as { name?: unknown } | null)?.name;
  // Skiff's spec names itself; another platform's file may not (then --name, else the file's name)
  const name =
    given ??
    (named === undefined && Array.isArray((spec as { functions?: unknown } | null)?.functions)
      ? nameFromFile(file)
      : named);
  if (typeof name !== 'string' || name === '') {
    throw withHint(
      new SkiffError('SKIFF_E_INVALID_WORKFLOW', `${file} is invalid: name: the spec needs a "name"`),
      'a workflow spec is { "name": "...", "functions": { ... } }; see docs/composition.md#workflows',
    );
  }
  return { name, body };
}

async function apply(file: string, given: string | undefined, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { name, body } = await readSpec(file, given);
  const { status, body: answer } = await new SkiffClient(target).api<{
    workflow: WorkflowView;
    warnings?: string[];
  }>('PUT', workflowPath(name), { body, headers: { 'content-type': 'application/json' } });
  const w = answer.workflow;
  const warnings = answer.warnings ?? [];
  if (json) {
    printJson({ ...w, created: status === 201, ...(warnings.length > 0 ? { warnings } : {}) });
    return;
  }
  for (const warning of warnings) console.error(`⚠ ${warning}`);
  const members = Object.keys(w.functions).length;
  console.log(
    `✔ ${status === 201 ? 'Created' : 'Replaced'} workflow ${w.name} (${members} function${members === 1 ? '' : 's'}) at version ${w.version}`,
  );
}

async function get(name: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { body } = await new SkiffClient(target).api<{ workflow: WorkflowView }>('GET', workflowPath(name));
  const w = body.workflow;
  if (json) {
    printJson(w);
    return;
  }
  console.log(`Workflow ${w.name}, version ${w.version}, updated ${formatTime(w.updatedAt)}`);
  if (w.description !== undefined) console.log(w.description);
  const rows: string[][] = [];
  for (const [member, aliases] of Object.entries(w.functions)) {
    const entries = Object.entries(aliases);
    if (entries.length === 0) rows.push([member, '-', '(no aliases)']);
    for (const [alias, targets] of entries)
      rows.push([member, alias, targets.length === 0 ? '(nowhere)' : targets.join(', ')]);
  }
  console.log(renderTable(['FUNCTION', 'ALIAS', 'TARGETS'], rows));
}

async function list(cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { body } = await new SkiffClient(target).api<{ workflows: WorkflowSummary[] }>(
    'GET',
    '/v1/workflows',
  );
  if (json) {
    printJson(body);
    return;
  }
  if (body.workflows.length === 0) {
    console.log('No workflows. Apply one with `skiff workflow apply <file.json>`.');
    return;
  }
  console.log(
    renderTable(
      ['NAME', 'FUNCTIONS', 'VERSION', 'UPDATED'],
      body.workflows.map((w) => [w.name, w.members.join(', '), String(w.version), formatTime(w.updatedAt)]),
    ),
  );
}

async function remove(name: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  await new SkiffClient(target).api('DELETE', workflowPath(name));
  if (json) printJson({ name, deleted: true });
  else console.log(`✔ Deleted workflow ${name}`);
}
