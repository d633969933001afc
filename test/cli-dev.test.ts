/**
 * `skiff dev`: deploys a folder, redeploys it on every change (a burst of saves is one deploy), prints
 * a failed build's error while the version before keeps answering, follows the function's logs, and
 * stops on Ctrl+C with exit code 0, leaving the function deployed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli } from './helpers/cli.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { quietFor, waitUntil } from './helpers/wait.js';

let p: TestPlatform;
let work: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  p = await startPlatform();
  work = await makeDataDir();
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  if (work) await removeDir(work);
});

const handler = (greeting: string): string =>
  `export default (request, ctx) => {\n  ctx.log('${greeting} called');\n  return '${greeting}';\n};\n`;

const count = (text: string, what: string): number => text.split(what).length - 1;

describe('skiff dev', () => {
  it('deploys, redeploys once per burst of saves, keeps the old version on a broken save, follows logs, stops on SIGINT', async () => {
    const env = cleanEnv({ SKIFF_HOME: p.dataDir });
    const dir = path.join(work, 'devfn');
    const init = await runCli(['init', dir, '--runtime', 'node'], env);
    expect(init.code, init.stderr).toBe(0);
    const file = path.join(dir, 'index.mjs');
    await writeFile(file, handler('one'));

    const dev = spawn(process.execPath, [BIN, 'dev', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = dev;
    let out = '';
    dev.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    dev.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
    const seen = (what: string, times = 1): Promise<void> =>
      waitUntil(
        () => `${times} × "${what}" from skiff dev; it printed:\n${out}`,
        () => {
          if (dev.exitCode !== null) throw new Error(`skiff dev exited with ${dev.exitCode}:\n${out}`);
          return count(out, what) >= times;
        },
      );
    const answer = async (): Promise<string> => (await p.call('/devfn')).text();
    const answers = (text: string): Promise<void> =>
      waitUntil(`devfn to answer "${text}"`, async () => (await answer()) === text);

    // the first deploy, with the URL to call
    await seen('✔ Deployed devfn version 1');
    expect(out).toContain(`curl ${p.httpUrl}/devfn`);
    expect(out).toContain('devfn stays deployed');
    expect(await answer()).toBe('one');

    // a save: deployed again, the new answer over HTTP, and its log line followed
    await writeFile(file, handler('two'));
    await answers('two');
    await seen('✔ Deployed devfn version 2');
    expect(out).toContain('Changed: index.mjs');
    let lastCall = 0;
    await waitUntil(
      () => `"two called" among the followed logs; skiff dev printed:\n${out}`,
      async () => {
        // a call now and then: the follow starts from the lines there when it first asked
        if (Date.now() - lastCall > 1000) {
          lastCall = Date.now();
          expect(await answer()).toBe('two');
        }
        return out.includes('two called');
      },
    );

    // three saves at once: one deploy
    for (const text of ['three-a', 'three-b', 'three']) await writeFile(file, handler(text));
    await answers('three');
    await seen('✔ Deployed devfn version 3');

    // a file .skiffignore leaves out of the deploy (the README) is no change
    await writeFile(path.join(dir, 'README.md'), '# devfn, edited\n');
    await quietFor(1500, 'an ignored file had its chance to trigger a deploy');

    // a syntax error: its error printed (file and line), the version before keeps answering
    await writeFile(file, `${handler('broken')}export default (\n`);
    await seen('✖ version 4 of devfn failed to build');
    expect(out).toMatch(/index\.mjs:\d+:\d+/);
    expect(out).toContain('The version before keeps serving');
    expect(await answer()).toBe('three');
    // exactly one deploy for the burst: the fourth deploy was the broken save's
    expect(count(out, 'Deploying devfn')).toBe(4);
    expect(count(out, '✔ Deployed devfn')).toBe(3);

    // Ctrl+C: exit 0, the function still there
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('Stopped watching');
    expect(await answer()).toBe('three');
    expect((await p.api('/v1/functions/devfn')).status).toBe(200);
  });
});
