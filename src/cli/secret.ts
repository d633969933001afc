/** `skiff secret <verb>`: set, list and delete a function's secrets. Values are never shown back. */
import type { Command } from 'commander';
import { SkiffClient } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { formatTime, printJson, renderTable } from './output.js';

interface SecretInfo {
  name: string;
  updatedAt: string;
}

export function registerSecret(program: Command): void {
  const secret = program
    .command('secret')
    .description("manage a function's secrets (environment variables and ctx.secrets, never shown back)");
  withExamples(
    secret,
    'skiff secret set hello API_KEY --value s3cr3t',
    'skiff secret list hello',
    'skiff secret delete hello API_KEY',
  );

  withExamples(
    secret
      .command('set')
      .description('create or replace a secret; its instances restart, no new version is made')
      .argument('<function>', 'function name')
      .argument('<NAME>', 'secret name, like an environment variable (API_KEY)')
      .option('--value <value>', 'the value (default: read from stdin when it is not a terminal)')
      .action((fn: string, name: string, opts: { value?: string }, cmd: Command) => set(fn, name, opts, cmd)),
    'skiff secret set hello API_KEY --value s3cr3t',
    'printf %s "$TOKEN" | skiff secret set hello API_KEY',
  );

  withExamples(
    secret
      .command('list')
      .alias('ls')
      .description("list a function's secrets by name (never the values)")
      .argument('<function>', 'function name')
      .action((fn: string, _opts: unknown, cmd: Command) => list(fn, cmd)),
    'skiff secret list hello',
    'skiff secret list hello --json',
  );

  withExamples(
    secret
      .command('delete')
      .alias('rm')
      .description('delete a secret; its instances restart')
      .argument('<function>', 'function name')
      .argument('<NAME>', 'secret name')
      .action((fn: string, name: string, _opts: unknown, cmd: Command) => remove(fn, name, cmd)),
    'skiff secret delete hello API_KEY',
  );
}

function secretsPath(fn: string, name?: string): string {
  const base = `/v1/functions/${encodeURIComponent(fn)}/secrets`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // a trailing newline from `echo` or a heredoc is not part of the secret
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function set(fn: string, name: string, opts: { value?: string }, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  let value = opts.value;
  if (value === undefined) {
    if (process.stdin.isTTY) {
      throw usageError('give the value with --value <value>, or pipe it on stdin', 'skiff secret set');
    }
    value = await readStdin();
  }
  if (value === '') throw usageError('the secret value is empty', 'skiff secret set');
  await new SkiffClient(target).api('PUT', secretsPath(fn, name), {
    body: Buffer.from(JSON.stringify({ value })),
    headers: { 'content-type': 'application/json' },
  });
  if (json) printJson({ function: fn, secret: name, set: true });
  else console.log(`✔ Set secret ${name} of ${fn}; its instances restart with it`);
}

async function list(fn: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const { body } = await new SkiffClient(target).api<{ secrets: SecretInfo[] }>('GET', secretsPath(fn));
  if (json) {
    printJson(body);
    return;
  }
  if (body.secrets.length === 0) {
    console.log(`No secrets. Set one with \`skiff secret set ${fn} <NAME> --value <value>\`.`);
    return;
  }
  console.log(
    renderTable(
      ['NAME', 'UPDATED'],
      body.secrets.map((s) => [s.name, formatTime(s.updatedAt)]),
    ),
  );
}

async function remove(fn: string, name: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  await new SkiffClient(target).api('DELETE', secretsPath(fn, name));
  if (json) printJson({ function: fn, secret: name, deleted: true });
  else console.log(`✔ Deleted secret ${name} of ${fn}`);
}
