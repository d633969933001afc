/**
 * `skiff init`: each runtime's template is a working function: its own test passes without Skiff, and
 * `skiff fn deploy` of the folder answers on a real platform. Mistakes get a usage error that says what
 * to do (an unknown runtime with a suggestion, a folder that is not empty, a name that is not one).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const run = promisify(execFile);

let p: TestPlatform;
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  p = await startPlatform();
  work = await makeDataDir();
  env = cleanEnv({ SKIFF_HOME: p.dataDir });
});

afterAll(async () => {
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  if (work) await removeDir(work);
});

/** Node.js runs TypeScript as it is from 22.18 (and 23.6): `process.features.typescript` says so. */
const nodeRunsTypeScript =
  (process.features as { typescript?: string | false }).typescript === 'strip' ||
  (process.features as { typescript?: string | false }).typescript === 'transform';

/** Runs the folder's own test the way its README says, without Skiff; resolves with its output. */
async function runGeneratedTest(runtime: string, dir: string): Promise<string> {
  const options = { cwd: dir, timeout: 30_000, env: { PATH: process.env['PATH'] ?? '' } };
  switch (runtime) {
    case 'node':
      return (await run(process.execPath, ['--test'], options)).stdout;
    case 'typescript': {
      if (nodeRunsTypeScript) return (await run(process.execPath, ['--test'], options)).stdout;
      // this Node.js does not run .ts: the same test, its types stripped by esbuild, on plain `node --test`
      const outfile = path.join(work, 'ts-test', 'index.test.mjs');
      await build({
        entryPoints: [path.join(dir, 'index.test.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile,
        logLevel: 'silent',
      });
      return (await run(process.execPath, ['--test', outfile], options)).stdout;
    }
    case 'python':
      return (await run('/usr/bin/python3', ['-m', 'unittest', '-v'], options)).stderr;
    default:
      return (await run('./test.sh', [], options)).stdout;
  }
}

const EXPECTED_FILES: Record<string, string[]> = {
  node: ['.skiffignore', 'README.md', 'index.mjs', 'index.test.mjs', 'skiff.json'],
  typescript: ['.skiffignore', 'README.md', 'index.test.ts', 'index.ts', 'skiff.json'],
  python: ['.skiffignore', 'README.md', 'main.py', 'skiff.json', 'test_main.py'],
  shell: ['.skiffignore', 'README.md', 'fn.sh', 'skiff.json', 'test.sh'],
};

describe('skiff init', () => {
  for (const runtime of ['node', 'typescript', 'python', 'shell']) {
    it(`writes a ${runtime} function whose own test passes and that deploys and answers`, async () => {
      const dir = path.join(work, runtime);
      const name = `init-${runtime}`;
      const init = await runCli(['init', dir, '--runtime', runtime, '--name', name], env);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toContain(`Created ${name} (${runtime})`);
      expect((await readdir(dir)).sort()).toEqual(EXPECTED_FILES[runtime]);
      const spec = JSON.parse(await readFile(path.join(dir, 'skiff.json'), 'utf8')) as Record<string, string>;
      expect(spec['name']).toBe(name);
      expect(spec['runtime']).toBe(runtime === 'shell' ? 'binary' : runtime === 'python' ? 'python' : 'node');
      expect(await readFile(path.join(dir, 'README.md'), 'utf8')).toContain(`# ${name}`);

      const testOutput = await runGeneratedTest(runtime, dir);
      expect(testOutput).toMatch(/pass 2|OK|ok: \?name=ann/);

      const deploy = await runCli(['fn', 'deploy', dir], env);
      expect(deploy.code, deploy.stderr).toBe(0);
      expect(deploy.stdout).toContain(`✔ Deployed ${name} version 1`);
      expect(deploy.stdout).toContain(`curl ${p.httpUrl}/${name}`);
      const answer = await p.call(`/${name}?name=ann`);
      expect(answer.status).toBe(200);
      expect(await answer.text()).toContain('Hello, ann!');
    });
  }

  it('keeps the tests and the README out of the deploy (.skiffignore)', async () => {
    const dir = path.join(work, 'node');
    await stat(path.join(dir, 'index.test.mjs'));
    const res = await p.api('/v1/functions/init-node');
    const body = (await res.json()) as { function: { versions: { buildLog?: string }[] } };
    const log = body.function.versions[0]?.buildLog ?? '';
    // index.mjs, skiff.json and .skiffignore: 3 files, not the test nor the README
    expect(log).toContain('extracted 3 files');
  });

  it('suggests the runtime meant, refuses a folder that is not empty unless --force, and a bad name', async () => {
    const typo = await runCli(['init', path.join(work, 'typo'), '--runtime', 'pyhton'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown runtime "pyhton"');
    expect(typo.stderr).toContain('did you mean `--runtime python`?');

    const dir = path.join(work, 'busy');
    await run('mkdir', ['-p', dir]);
    await writeFile(path.join(dir, 'notes.txt'), 'mine\n');
    const refused = await runCli(['init', dir, '--runtime', 'node'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not empty');
    expect(refused.stderr).toContain('--force');
    expect(await readdir(dir)).toEqual(['notes.txt']);
    const forced = await runCli(['init', dir, '--runtime', 'ts', '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(
      [...(EXPECTED_FILES['typescript'] ?? []), 'notes.txt'].sort(),
    );
    expect(await readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');

    const badName = await runCli(['init', path.join(work, 'Bad_Name'), '--runtime', 'node'], env);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('give one with --name');
  });
});
