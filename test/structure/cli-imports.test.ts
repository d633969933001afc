import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

let dir: string;
let hook: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-cli-imports-'));
  hook = path.join(dir, 'hook.mjs');
  // notes every module the command loads, in the file SKIFF_TEST_MODULES names
  await writeFile(
    hook,
    `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = [];
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.SKIFF_TEST_MODULES, seen.join('\\n')));
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The modules `skiff <args>` loads (it may fail: no platform runs). */
async function modulesOf(args: string[]): Promise<string[]> {
  const list = path.join(dir, `${args.join('-')}.txt`);
  await run(process.execPath, ['--import', hook, path.join(root, 'bin', 'skiff.js'), ...args], {
    env: { ...process.env, SKIFF_TEST_MODULES: list, SKIFF_URL: 'http://127.0.0.1:9', HOME: dir },
  }).catch(() => undefined);
  return (await readFile(list, 'utf8')).split('\n');
}

/** What only the server or some commands' actions need. */
const HEAVY = [
  /\/dist\/src\/server\.js$/,
  /\/dist\/src\/store\//,
  /\/node_modules\/better-sqlite3\//,
  /\/node_modules\/tar\//,
  /\/node_modules\/eventsource-parser\//,
  // the dialects and their configuration schemas (only `serve` and a contexts file need zod)
  /\/dist\/src\/compat\/index\.js$/,
  /\/node_modules\/zod\//,
  /\/dist\/src\/executor\/conformance\/run\.js$/,
];

describe('what the CLI loads', () => {
  it.each([['--version'], ['fn', 'list'], ['status']])(
    '`skiff %s` loads neither the server, the stores nor packages only other commands use',
    async (...args: string[]) => {
      const modules = await modulesOf(args);
      expect(modules.some((m) => m.endsWith('/dist/src/cli/main.js'))).toBe(true);
      expect(modules.filter((m) => HEAVY.some((re) => re.test(m)))).toEqual([]);
    },
  );
});
