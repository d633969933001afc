/**
 * `skiff state <verb>`: read and change a function's state (`/v1/functions/{name}/state`). `get`
 * prints the value as stored (JSON as text, bytes unchanged); `set` stores an argument, a file or
 * stdin, optionally only at a version (`--if-version`, compare-and-set).
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { SkiffClient, skiffErrorFromBody } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { formatTime, printJson, renderTable, withHint } from './output.js';

interface KeyInfo {
  key: string;
  version: number;
  size: number;
  contentType: string;
  updatedAt: string;
}
interface ListPage {
  keys: KeyInfo[];
  next: string | null;
  usage: { keys: number; bytes: number };
  limits: { maxValueBytes: number; maxBytesPerFunction: number; maxKeysPerFunction: number };
}
type ValueType = 'json' | 'bytes';
interface SetOptions {
  file?: string;
  type?: ValueType;
  ifVersion?: number;
}

const MEDIA: Record<ValueType, string> = { json: 'application/json', bytes: 'application/octet-stream' };

function version(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('expected a whole number (0: only if the key does not exist)');
  }
  return n;
}

function valueType(value: string): ValueType {
  if (value !== 'json' && value !== 'bytes') throw new InvalidArgumentError('expected json or bytes');
  return value;
}

export function registerState(program: Command): void {
  const state = program
    .command('state')
    .description("read and change a function's state (a key-value store it keeps across restarts)");
  withExamples(
    state,
    'skiff state set counter total 0',
    'skiff state get counter total',
    'skiff state list counter --prefix user/',
    'skiff state delete counter total',
  );

  withExamples(
    state
      .command('get')
      .description('print a value as stored: JSON as text, bytes unchanged (--json: with its version)')
      .argument('<function>', 'function name')
      .argument('<key>', 'the key')
      .action((fn: string, key: string, _opts: unknown, cmd: Command) => get(fn, key, cmd)),
    'skiff state get counter total',
    'skiff state get images logo.png > logo.png',
  );

  withExamples(
    state
      .command('set')
      .description(
        'store a value; an argument that parses as JSON is stored as JSON, anything else (and --file, stdin) as bytes',
      )
      .argument('<function>', 'function name')
      .argument('<key>', 'the key')
      .argument('[value]', 'the value (default: --file, else stdin when it is not a terminal)')
      .option('--file <file>', 'read the value from a file')
      .option(
        '--type <type>',
        'store as json (it must parse) or bytes, whatever the value looks like',
        valueType,
      )
      .option('--if-version <n>', 'only if the key is at version n (0: only if it does not exist)', version)
      .action((fn: string, key: string, value: string | undefined, opts: SetOptions, cmd: Command) =>
        set(fn, key, value, opts, cmd),
      ),
    'skiff state set counter total 0',
    'skiff state set app config \'{"mode":"fast"}\' --if-version 3',
    'skiff state set images logo.png --file ./logo.png',
  );

  withExamples(
    state
      .command('list')
      .alias('ls')
      .description("list a function's keys with their versions and sizes (not the values)")
      .argument('<function>', 'function name')
      .option('--prefix <prefix>', 'only keys starting with this')
      .action((fn: string, opts: { prefix?: string }, cmd: Command) => list(fn, opts, cmd)),
    'skiff state list counter',
    'skiff state list counter --prefix user/ --json',
  );

  withExamples(
    state
      .command('delete')
      .alias('rm')
      .description('delete a key')
      .argument('<function>', 'function name')
      .argument('<key>', 'the key')
      .option('--if-version <n>', 'only if the key is at version n', version)
      .action((fn: string, key: string, opts: { ifVersion?: number }, cmd: Command) =>
        remove(fn, key, opts, cmd),
      ),
    'skiff state delete counter total',
  );
}

function statePath(fn: string, key?: string): string {
  const base = `/v1/functions/${encodeURIComponent(fn)}/state`;
  return key === undefined ? base : `${base}/${encodeURIComponent(key)}`;
}

function conditionHeaders(ifVersion: number | undefined): Record<string, string> {
  if (ifVersion === undefined) return {};
  return ifVersion === 0 ? { 'if-none-match': '*' } : { 'if-match': `"${ifVersion}"` };
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

async function get(fn: string, key: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const client = new SkiffClient(target);
  const url = new URL(client.controlUrl() + statePath(fn, key));
  const token = client.token();
  const res = await client.send(url, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok) {
    const error = skiffErrorFromBody(body.toString('utf8'));
    if (error === undefined) throw new SkiffError('SKIFF_E_INTERNAL', `${res.status} from ${url.origin}`);
    if (error.code === 'SKIFF_E_STATE_NOT_FOUND')
      withHint(error, `\`skiff state list ${fn}\` shows the keys`);
    throw error;
  }
  const contentType = res.headers.get('content-type') ?? 'application/octet-stream';
  const at = Number((res.headers.get('etag') ?? '').replace(/\D/g, ''));
  if (json) {
    const value =
      contentType === 'application/json'
        ? (JSON.parse(body.toString('utf8')) as unknown)
        : body.toString('base64');
    printJson({ function: fn, key, version: at, contentType, value });
    return;
  }
  process.stdout.write(body);
  if (contentType === 'application/json' && process.stdout.isTTY) process.stdout.write('\n');
}

async function set(
  fn: string,
  key: string,
  given: string | undefined,
  opts: SetOptions,
  cmd: Command,
): Promise<void> {
  const { json, target } = globalOptions(cmd);
  if (given !== undefined && opts.file !== undefined)
    throw usageError('give the value as an argument or with --file, not both', 'skiff state set');
  let value: Buffer;
  let type: ValueType;
  if (given !== undefined) {
    value = Buffer.from(given);
    type = opts.type ?? (isJson(given) ? 'json' : 'bytes');
  } else {
    if (opts.file === undefined && process.stdin.isTTY)
      throw usageError('give the value as an argument, with --file <file>, or on stdin', 'skiff state set');
    value = opts.file === undefined ? await readStdin() : await readFile(opts.file);
    type = opts.type ?? 'bytes';
  }
  const { body } = await new SkiffClient(target).api<{ key: string; version: number; created: boolean }>(
    'PUT',
    statePath(fn, key),
    { body: value, headers: { 'content-type': MEDIA[type], ...conditionHeaders(opts.ifVersion) } },
  );
  if (json) printJson({ function: fn, ...body, contentType: MEDIA[type], size: value.length });
  else
    console.log(
      `✔ ${body.created ? 'Created' : 'Set'} ${key} of ${fn} (${type}, ${value.length} bytes) at version ${body.version}`,
    );
}

async function list(fn: string, opts: { prefix?: string }, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const client = new SkiffClient(target);
  const keys: KeyInfo[] = [];
  let page: ListPage | undefined;
  let after: string | undefined;
  do {
    ({ body: page } = await client.api<ListPage>('GET', statePath(fn), {
      query: { prefix: opts.prefix, limit: 1000, after },
    }));
    keys.push(...page.keys);
    after = page.next ?? undefined;
  } while (after !== undefined);
  if (json) {
    printJson({ keys, usage: page.usage, limits: page.limits });
    return;
  }
  if (keys.length === 0) {
    console.log(
      `No state${opts.prefix === undefined ? '' : ` under ${opts.prefix}`}. Set a key with \`skiff state set ${fn} <key> <value>\`.`,
    );
  } else {
    const type = (t: string) => (t === 'application/json' ? 'json' : 'bytes');
    console.log(
      renderTable(
        ['KEY', 'VERSION', 'SIZE', 'TYPE', 'UPDATED'],
        keys.map((k) => [
          k.key,
          String(k.version),
          String(k.size),
          type(k.contentType),
          formatTime(k.updatedAt),
        ]),
      ),
    );
  }
  const { usage, limits } = page;
  console.log(
    `${usage.keys} of ${limits.maxKeysPerFunction} keys, ${usage.bytes} of ${limits.maxBytesPerFunction} bytes in all`,
  );
}

async function remove(fn: string, key: string, opts: { ifVersion?: number }, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  await new SkiffClient(target).api('DELETE', statePath(fn, key), {
    headers: conditionHeaders(opts.ifVersion),
  });
  if (json) printJson({ function: fn, key, deleted: true });
  else console.log(`✔ Deleted ${key} of ${fn}`);
}
