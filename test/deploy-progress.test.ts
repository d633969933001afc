/**
 * `skiff fn deploy` shows the build as it runs (issue 20, item 6): the build's lines reach the CLI's
 * stderr while the deploy is still going, the stored build log is what was streamed, a failing build
 * streams its error, and what a build prints is bounded on the way.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv } from './helpers/cli.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { folderWith } from './helpers/tmp.js';
import { MAX_STREAMED_CHARS } from '../src/control/deploy/progress-stream.js';
import { packDirectory } from '../src/store/archive/pack.js';

let p: TestPlatform;
let env: NodeJS.ProcessEnv;
const dirs: string[] = [];

beforeAll(async () => {
  // install scripts run (and print) during the build: the build hook a function can bring
  p = await startPlatform({ config: { build: { npmScripts: true } } });
  env = cleanEnv({ SKIFF_HOME: p.dataDir });
});

afterAll(async () => {
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  for (const dir of dirs) await removeDir(dir);
});

/** A Node function with a local dependency whose install script runs `script` (Node code). */
async function withInstallScript(script: string): Promise<string> {
  const dir = await folderWith({
    'index.mjs': 'export default () => "built";\n',
    'package.json': JSON.stringify({ name: 'fn', version: '1.0.0', dependencies: { dep: 'file:./dep' } }),
    'dep/package.json': JSON.stringify({
      name: 'dep',
      version: '1.0.0',
      scripts: { install: 'node slow.js' },
    }),
    'dep/slow.js': script,
  });
  dirs.push(dir);
  return dir;
}

interface Watched {
  stderr(): string;
  stdout(): string;
  /** Resolves once stderr holds `text` (the CLI still running or not); rejects when it exits without. */
  waitForStderr(text: string): Promise<{ running: boolean }>;
  exited: Promise<number | null>;
}

/** Runs the CLI, its stderr read as it arrives. */
function runWatched(args: string[]): Watched {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { text: string; resolve: (v: { running: boolean }) => void; reject: (e: Error) => void }[] =
    [];
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`exited without "${w.text}":\n${err}`));
      resolve(code);
    });
  });
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
    for (const w of [...waiters]) {
      if (!err.includes(w.text)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve({ running: child.exitCode === null });
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  void exited.then(() => clearTimeout(timer));
  return {
    stderr: () => err,
    stdout: () => out,
    exited,
    waitForStderr: (text) =>
      err.includes(text)
        ? Promise.resolve({ running: child.exitCode === null })
        : new Promise((resolve, reject) => waiters.push({ text, resolve, reject })),
  };
}

/** The build lines the CLI printed (`  │ line`). */
function shownLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('  │ '))
    .map((l) => l.slice(4));
}

describe('skiff fn deploy streams the build', () => {
  it('shows build lines while the deploy runs, and stores the same log with the version', async () => {
    // the first line, then a second after a while: a slow install (as pip's 41 s were)
    const dir = await withInstallScript(
      'console.log("first build line"); setTimeout(() => console.log("second build line"), 1500);\n',
    );
    const cli = runWatched(['fn', 'deploy', dir, '--name', 'slowbuild']);
    const seen = await cli.waitForStderr('│ first build line');
    expect(seen.running).toBe(true);
    // the step is said too (stderr is not a terminal here: steps are lines)
    expect(cli.stderr()).toContain('» installing dependencies');
    expect(cli.stderr()).not.toContain('second build line');
    expect(await cli.exited, cli.stderr()).toBe(0);
    expect(cli.stdout()).toMatch(/✔ Deployed slowbuild version 1/);
    expect(cli.stdout()).not.toContain('build line');
    expect(cli.stderr()).toContain('» starting the new version');
    expect(cli.stderr()).toContain('» switching live');

    const stored = (await (await p.api('/v1/functions/slowbuild/versions/1')).json()) as {
      version: { buildLog: string };
    };
    expect(shownLines(cli.stderr())).toEqual(stored.version.buildLog.split('\n'));
    expect(stored.version.buildLog).toMatch(/first build line\n(.*\n)*second build line/);
    expect(await (await p.call('/slowbuild')).text()).toBe('built');
  });

  it('streams a failing build and its error, without printing the build output twice', async () => {
    const dir = await withInstallScript(
      // with colours: escape sequences from a build do not reach the user's terminal
      'console.error("\\x1b[31mabout to fail\\x1b[0m: bad wheel"); setTimeout(() => process.exit(3), 500);\n',
    );
    const cli = runWatched(['fn', 'deploy', dir, '--name', 'badbuild']);
    const seen = await cli.waitForStderr('│ about to fail: bad wheel');
    expect(seen.running).toBe(true);
    expect(await cli.exited).toBe(1);
    const err = cli.stderr();
    expect(err).toContain('SKIFF_E_BUILD_FAILED');
    expect(err).toMatch(/│ deploy failed: npm install failed/);
    expect(err).not.toContain('Build output (version');
    expect(err).not.toContain('\x1b');
    expect(err.split('about to fail: bad wheel').length).toBe(2);
  });

  it('bounds what a build streams, with a marker, and the stored log keeps its start and end', async () => {
    // 3 MiB of output in 100-character lines
    const dir = await withInstallScript(
      'const line = "y".repeat(99); let out = ""; for (let i = 0; i < 31457; i++) out += line + "\\n"; process.stdout.write(out); console.log("the last line");\n',
    );
    const body = await packDirectory(dir, {});
    const res = await p.api('/v1/functions/loud', {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/gzip', accept: 'application/x-ndjson' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const events = (await res.text())
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; line?: string; status?: number; cut?: boolean });
    const output = events.filter((e) => e.type === 'output');
    const chars = output.reduce((n, e) => n + (e.line ?? '').length, 0);
    // cut on the way (over the total, or faster than this client read), each cut said by a marker
    const markers = output.filter((e) => e.cut === true);
    expect(markers.length).toBeGreaterThan(0);
    for (const m of markers) expect(m.line).toMatch(/^\[… .*build output.* not streamed/);
    expect(chars).toBeLessThanOrEqual(MAX_STREAMED_CHARS + 200 * markers.length);
    expect(chars).toBeLessThan(3 * 1024 * 1024);
    expect(events.at(-1)).toMatchObject({ type: 'result', status: 201 });
    const stored = (await (await p.api('/v1/functions/loud/versions/1')).json()) as {
      version: { buildLog: string };
    };
    expect(stored.version.buildLog).toMatch(/characters of build output left out/);
    expect(stored.version.buildLog).toMatch(/the last line/);
  });

  it('answers a client that does not ask for the stream with JSON, as before', async () => {
    const dir = await folderWith({ 'index.mjs': 'export default () => "plain";\n' });
    dirs.push(dir);
    const res = await p.deploy('plain', dir);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(path.basename(dir)).not.toBe('');
  });
});
