/**
 * `skiff login <url>`, `skiff logout [name]` and `skiff context list|use|remove`: the platforms the CLI
 * knows by name (contexts.ts), so that it works from any folder, as faas-cli's and kubectl's do.
 */
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { normalizeUrl, SkiffClient } from './client.js';
import {
  CONTEXT_NAME,
  contextNamed,
  contextsPath,
  readContexts,
  writeContexts,
  type Context,
} from './contexts.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson, renderTable, withHint } from './output.js';

interface LoginOptions {
  tokenStdin?: boolean;
  name?: string;
  gatewayUrl?: string;
}

/** A token longer than this is no Skiff token: stdin is read up to it. */
const MAX_TOKEN_BYTES = 16 * 1024;

export function registerLogin(program: Command): void {
  withExamples(
    program
      .command('login')
      .description('record a platform and its admin token as a named context, and make it the current one')
      .argument('<url>', "the platform's control API, e.g. http://edge-1:8080")
      .option('--token-stdin', 'read the admin token from stdin (default: $SKIFF_TOKEN)')
      .option('--name <name>', 'the context name (default: host:port of the URL)')
      .option('--gateway-url <url>', "the HTTP gateway's URL (default: what the platform reports)")
      .action((url: string, opts: LoginOptions, cmd: Command) => login(url, opts, cmd)),
    'cat .skiff/admin-token | skiff login http://127.0.0.1:8080 --token-stdin',
    'skiff login https://faas.example.com --name prod --token-stdin < token.txt',
  );
  withExamples(
    program
      .command('logout')
      .description('forget a context and its token (default: the current one)')
      .argument('[name]', 'context name')
      .action((name: string | undefined, _opts: unknown, cmd: Command) => remove(name, cmd)),
    'skiff logout',
    'skiff logout prod',
  );
  const context = program
    .command('context')
    .description('list and switch the platforms recorded by `skiff login`');
  withExamples(context, 'skiff context list', 'skiff context use prod');
  context
    .command('list')
    .alias('ls')
    .description('list the contexts (never their tokens); * marks the current one')
    .action((_opts: unknown, cmd: Command) => list(cmd));
  context
    .command('use')
    .description('make a context the current one')
    .argument('<name>', 'context name')
    .action((name: string, _opts: unknown, cmd: Command) => use(name, cmd));
  context
    .command('remove')
    .alias('rm')
    .description('forget a context and its token')
    .argument('<name>', 'context name')
    .action((name: string, _opts: unknown, cmd: Command) => remove(name, cmd));
}

async function login(rawUrl: string, opts: LoginOptions, cmd: Command): Promise<void> {
  const { json } = globalOptions(cmd);
  const url = normalizeUrl(rawUrl, 'the URL');
  const token = opts.tokenStdin === true ? await readToken() : process.env.SKIFF_TOKEN?.trim();
  if (token === undefined || token === '') {
    throw usageError(
      'no admin token: pipe it with --token-stdin (a local platform writes it to <data-dir>/admin-token), or set SKIFF_TOKEN',
      'skiff login',
    );
  }
  const name = opts.name ?? defaultName(url);
  if (!CONTEXT_NAME.test(name)) {
    throw usageError(
      `'${name}' is not a valid context name: letters, digits, '.', '_', '-', ':' or '@', at most 100, starting with a letter or digit`,
      'skiff login',
    );
  }
  // the token is checked before it is kept: a route that needs it
  const client = new SkiffClient({ url, env: { SKIFF_TOKEN: token } });
  let endpoints: Record<string, unknown>;
  try {
    const { body } = await client.api<{ endpoints?: unknown } | undefined>('GET', '/v1/endpoints');
    if (typeof body?.endpoints !== 'object' || body.endpoints === null) {
      throw new SkiffError('SKIFF_E_CLI_UNREACHABLE', `${url} did not answer as a Skiff control API`);
    }
    endpoints = body.endpoints as Record<string, unknown>;
  } catch (err) {
    if (err instanceof SkiffError && err.code === 'SKIFF_E_UNAUTHORIZED') {
      throw withHint(
        new SkiffError(
          'SKIFF_E_UNAUTHORIZED',
          `the platform at ${url} refused the token: nothing was recorded`,
        ),
        "give the platform's admin token (its <data-dir>/admin-token)",
      );
    }
    throw err;
  }
  const gateway =
    opts.gatewayUrl !== undefined
      ? normalizeUrl(opts.gatewayUrl, '--gateway-url')
      : typeof endpoints.http === 'string' && URL.canParse(endpoints.http)
        ? seenFrom(url, endpoints.http)
        : undefined;
  const file = contextsPath();
  const contents = readContexts(file);
  const entry: Context = { url, token, ...(gateway === undefined ? {} : { gateway }) };
  contents.contexts[name] = entry;
  contents.current = name;
  writeContexts(file, contents);
  if (json) printJson({ context: name, url, gateway: gateway ?? null, file });
  else {
    console.log(`✔ Logged in to ${url} as context '${name}' (now the current one)`);
    console.log(
      gateway === undefined ? '  gateway: unknown (set it with --gateway-url)' : `  gateway: ${gateway}`,
    );
    console.log(`  saved in ${file}`);
  }
}

function list(cmd: Command): void {
  const { json } = globalOptions(cmd);
  const file = contextsPath();
  const { current, contexts } = readContexts(file);
  const rows = Object.entries(contexts).map(([name, c]) => ({
    name,
    url: c.url,
    gateway: c.gateway ?? null,
    current: name === current,
  }));
  if (json) {
    printJson({ current: current ?? null, contexts: rows });
    return;
  }
  if (rows.length === 0) {
    console.log(`No contexts in ${file}. Record one with \`skiff login <url> --token-stdin\`.`);
    return;
  }
  console.log(
    renderTable(
      ['CURRENT', 'NAME', 'URL', 'GATEWAY'],
      rows.map((r) => [r.current ? '*' : '', r.name, r.url, r.gateway ?? '-']),
    ),
  );
}

function use(name: string, cmd: Command): void {
  const { json } = globalOptions(cmd);
  const file = contextsPath();
  const contents = readContexts(file);
  const ctx = contextNamed(contents, name, file);
  contents.current = name;
  writeContexts(file, contents);
  if (json) printJson({ current: name, url: ctx.url });
  else console.log(`✔ Now using context '${name}' (${ctx.url})`);
}

function remove(name: string | undefined, cmd: Command): void {
  const { json } = globalOptions(cmd);
  const file = contextsPath();
  const contents = readContexts(file);
  const which = name ?? contents.current;
  if (which === undefined) throw usageError('no current context to log out of', 'skiff logout');
  contextNamed(contents, which, file);
  delete contents.contexts[which];
  if (contents.current === which) delete contents.current;
  writeContexts(file, contents);
  if (json) printJson({ context: which, removed: true });
  else console.log(`✔ Forgot context '${which}' and its token`);
}

async function readToken(): Promise<string> {
  if (process.stdin.isTTY) {
    throw usageError('--token-stdin reads the token from a pipe or a file, not a terminal', 'skiff login');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_TOKEN_BYTES)
      throw usageError(`the token on stdin is over ${MAX_TOKEN_BYTES} bytes`, 'skiff login');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

function defaultName(url: string): string {
  const { hostname, port, protocol } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '').replace(/[^A-Za-z0-9._:@-]/g, '-');
  return `${host}:${port || (protocol === 'https:' ? '443' : '80')}`;
}

/**
 * The gateway as seen from the CLI: the platform reports its listeners as it reaches them itself
 * (127.0.0.1 for a wildcard bind); logged in from elsewhere, the host is the one the login used.
 */
function seenFrom(loginUrl: string, reported: string): string {
  const login = new URL(loginUrl);
  const gateway = new URL(reported);
  const loopback = (host: string) => host === 'localhost' || host === '[::1]' || host.startsWith('127.');
  if (loopback(gateway.hostname) && !loopback(login.hostname)) gateway.hostname = login.hostname;
  return gateway.toString().replace(/\/+$/, '');
}
