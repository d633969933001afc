/**
 * Red team, CLI scripting: a hostile function's answer must not drive the terminal of the user who
 * calls it. Error messages (a body shaped like a Skiff error, a thrown error's message), response
 * headers (`--include`) reach the terminal as text the platform shows; control characters in them (ESC, BEL, C1 such as U+009B, which terminals take as
 * CSI) are shown escaped. The body stays byte for byte (as curl's). (A thrown error's message never
 * leaves the platform: `invocation get` shows `SKIFF_E_FUNCTION_ERROR … see its logs`.)
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.js';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

/** ESC, BEL and the C1 controls (U+0080-U+009F) a terminal acts on. */
// eslint-disable-next-line no-control-regex -- the characters a terminal acts on
const CONTROL = /[\x07\x1b\x80-\x9f]/u;

const HOSTILE = `export default async (request) => {
  const kind = new URL(request.url).searchParams.get('kind');
  if (kind === 'log') {
    console.log('logged \\x1b]0;owned\\x07 \\u009b2J line');
    return 'ok';
  }
  if (kind === 'text') return new Response('before \\x1b]0;owned\\x07 after\\n');
  if (kind === 'header') return new Response('clean', { headers: { 'x-evil': 'a\\u009b2Jb' } });
  return new Response(
    JSON.stringify({ error: { code: 'SKIFF_E_\\x1b[2JX', message: 'hi \\x1b]52;c;cm0gLXJmIH4K\\x07 \\x1b[8m' } }),
    { status: 500, headers: { 'content-type': 'application/json' } },
  );
};`;

describe('a function cannot write terminal escapes through the CLI', () => {
  let p: TestPlatform;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    p = await startPlatform();
    env = cleanEnv({ SKIFF_HOME: p.dataDir });
    dir = await folderWith({
      'index.mjs': HOSTILE,
      'skiff.json': JSON.stringify({ runtime: 'node', handler: 'index.mjs' }),
    });
    expect((await p.deploy('hostile', dir)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('skiff logs: a line the function wrote is printed with its control characters escaped', async () => {
    expect((await p.call('/hostile?kind=log')).status).toBe(200);
    const r = await waitFor('the line in skiff logs', async () => {
      const out = await runCli(['logs', 'hostile'], env);
      return out.stdout.includes('logged') ? out : undefined;
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('logged \\u001b]0;owned\\u0007 \\u009b2J line');
    expect(r.stdout).not.toMatch(CONTROL);
  });

  it('skiff invoke: a Skiff-shaped error body prints its message and code escaped', async () => {
    const r = await runCli(['invoke', 'hostile'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hi \\u001b]52;c;cm0gLXJmIH4K\\u0007');
    expect(r.stderr).not.toMatch(CONTROL);
  }, 60_000);

  it('skiff invoke --include: header values are printed escaped, the body as it is', async () => {
    const r = await runCli(['invoke', 'hostile', '--path', '/?kind=header', '--include'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('x-evil: a\\u009b2Jb');
    expect(r.stdout).not.toMatch(CONTROL);
  }, 60_000);

  it('skiff invocation get: the summary shows a text result escaped, --output body as it is', async () => {
    const queued = await runCli(['invoke', 'hostile', '--path', '/?kind=text', '--async'], env);
    expect(queued.code).toBe(0);
    const id = queued.stdout.trim();
    const summary = await runCli(['invocation', 'get', id, '--wait', '--timeout', '30'], env);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toContain('before \\u001b]0;owned\\u0007 after');
    expect(summary.stdout).not.toMatch(CONTROL);
    const body = await runCli(['invocation', 'get', id, '--output', 'body'], env);
    expect(body.stdout).toBe('before \x1b]0;owned\x07 after\n');
  }, 90_000);

  it('skiff invoke --json: DEL and C1 characters are JSON escapes, the same value to a parser', async () => {
    const r = await runCli(['invoke', 'hostile', '--path', '/?kind=header', '--json'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(CONTROL);
    const out = JSON.parse(r.stdout) as { headers: Record<string, string> };
    expect(out.headers['x-evil']).toBe('a\u009b2Jb');
  }, 60_000);
});
