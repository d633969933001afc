/** `skiff invoke <name>`: calls a function through the HTTP gateway, like a tiny curl. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { GATEWAY_HINT, SkiffClient, connectionError, skiffErrorFromBody } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { formatError, printable, printJson } from './output.js';
import { encodeBody } from './response-body.js';

interface InvokeOptions {
  data?: string;
  method?: string;
  header?: string[];
  path?: string;
  include?: boolean;
  async?: boolean;
}

const HELP = 'skiff invoke';

export function registerInvoke(program: Command): void {
  withExamples(
    program
      .command('invoke')
      .description('call a function over HTTP and print its response')
      .argument('<name>', 'function name')
      .option(
        '-d, --data <data>',
        'request body: text, @file for a file, or - for stdin (default method: POST)',
      )
      .option('-X, --method <method>', 'HTTP method (default: GET, or POST with --data)')
      .option('-H, --header <name:value>', 'request header, repeatable', collect)
      .option('--path <path>', 'path (and query) after the function name, starting with /')
      .option('-i, --include', 'print the status line and response headers before the body')
      .option(
        '--async',
        'queue the call (X-Skiff-Async) and print its id (only the id when stdout is not a terminal); see `skiff invocation get <id>`',
      )
      .action((name: string, opts: InvokeOptions, cmd: Command) => invoke(name, opts, cmd)),
    'skiff invoke hello',
    `skiff invoke hello --data '{"name":"Ada"}' --header content-type:application/json`,
    'skiff invoke resize --data @photo.jpg --path "/thumb?w=64" > thumb.jpg',
    'echo hi | skiff invoke echo --data -',
    'skiff invoke report --async --data @input.json',
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function invoke(name: string, opts: InvokeOptions, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  if (opts.path !== undefined && !opts.path.startsWith('/')) {
    throw usageError(`--path must start with /, got '${opts.path}'`, HELP);
  }
  const headers = parseHeaders(opts.header ?? []);
  const client = new SkiffClient(target);
  const url = new URL(`${client.requireGatewayUrl()}/${encodeURIComponent(name)}${opts.path ?? ''}`);
  const body = opts.data === undefined ? undefined : await readData(opts.data);
  const method = (opts.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw usageError(`a ${method} request cannot have a body; drop --data or pass --method POST`, HELP);
  }
  if (body !== undefined && !hasHeader(headers, 'content-type')) {
    headers.push(['content-type', guessContentType(opts.data ?? '', body)]);
  }
  if (opts.async === true) headers.push(['x-skiff-async', 'true']);

  const res = await client.send(
    url,
    {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body }),
    },
    GATEWAY_HINT,
  );
  let responseBody: Buffer;
  try {
    responseBody = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw connectionError(err, url, GATEWAY_HINT);
  }
  const ok = res.status >= 200 && res.status < 300;
  process.exitCode = ok ? 0 : 1;

  const queuedId = opts.async === true && res.status === 202 ? idOf(responseBody) : undefined;
  if (json) {
    printJson({
      status: res.status,
      headers: Object.fromEntries(res.headers),
      ...encodeBody(responseBody, res.headers.get('content-type')),
      ...(queuedId === undefined ? {} : { id: queuedId }),
    });
    return;
  }
  if (queuedId !== undefined && !opts.include) {
    // piped (`id=$(skiff invoke f --async)`): the id alone; on a terminal, what to do with it
    if (process.stdout.isTTY) console.log(`✔ Queued ${queuedId}\n  skiff invocation get ${queuedId}`);
    else process.stdout.write(`${queuedId}\n`);
    return;
  }
  if (opts.include) {
    const head = [printable(`HTTP/1.1 ${res.status} ${res.statusText}`)];
    res.headers.forEach((value, key) => head.push(printable(`${key}: ${value}`)));
    process.stdout.write(`${head.join('\n')}\n\n`);
  }
  const error = ok ? undefined : skiffErrorFromBody(responseBody.toString('utf8'));
  if (error === undefined || opts.include) process.stdout.write(responseBody);
  if (error !== undefined) process.stderr.write(`${formatError(error)}\n`);
}

/** The id of a 202 answer (`{"id": ...}`), also given in X-Skiff-Invocation-Id. */
function idOf(body: Buffer): string | undefined {
  try {
    const { id } = JSON.parse(body.toString('utf8')) as { id?: unknown };
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** `--header name:value` pairs; the value may itself contain colons. */
export function parseHeaders(values: readonly string[]): [string, string][] {
  return values.map((raw) => {
    const at = raw.indexOf(':');
    const key = at === -1 ? '' : raw.slice(0, at).trim();
    if (key === '' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(key)) {
      throw usageError(`--header expects name:value, got '${raw}'`, HELP);
    }
    return [key, raw.slice(at + 1).trim()];
  });
}

function hasHeader(headers: readonly [string, string][], name: string): boolean {
  return headers.some(([key]) => key.toLowerCase() === name);
}

/** `--data text` as UTF-8, `--data @file` the file's bytes, `--data -` all of stdin. */
async function readData(data: string): Promise<Buffer> {
  if (data === '-') return readStdin();
  if (data.startsWith('@')) {
    const file = data.slice(1);
    try {
      return await readFile(file);
    } catch (cause) {
      throw usageError(`cannot read --data file '${file}': ${(cause as Error).message}`, HELP);
    }
  }
  return Buffer.from(data, 'utf8');
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** A literal that parses as a JSON object/array is sent as JSON, other text as text, files and stdin as bytes. */
function guessContentType(data: string, body: Buffer): string {
  if (data === '-' || data.startsWith('@')) return 'application/octet-stream';
  const text = body.toString('utf8').trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      JSON.parse(text);
      return 'application/json';
    } catch {
      // not JSON: plain text
    }
  }
  return 'text/plain; charset=utf-8';
}
