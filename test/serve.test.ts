import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir } from './helpers/platform.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'skiff.js');
const HELLO = path.join(ROOT, 'examples', 'hello');

/** The test runner's environment without any SKIFF_* variable. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SKIFF_')) env[key] = value;
  }
  return env;
}

interface Serve {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches, rejects if the process exits first or after `ms`. */
  waitForStdout(pattern: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code and signal, or rejects after `ms`. */
  exited(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

function startServe(args: string[], cwd: string): Serve {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const done = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForStdout(pattern, ms) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = pattern.exec(out);
          if (match === null) return false;
          cleanup();
          resolve(match);
          return true;
        };
        const onExit = (): void => {
          if (check()) return;
          cleanup();
          reject(new Error(`serve exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} on stdout within ${ms} ms\nstdout:\n${out}\nstderr:\n${err}`));
        }, ms);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.off('exit', onExit);
        };
        if (check()) return;
        if (done()) return onExit();
        child.stdout?.on('data', check);
        child.once('exit', onExit);
      });
    },
    exited(ms) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`serve did not exit within ${ms} ms\nstdout:\n${out}\nstderr:\n${err}`)),
          ms,
        );
      });
      return Promise.race([exit, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/** SIGTERM, then SIGKILL after 5 s, for a child still running (used in finally/afterAll). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

/** pids of processes whose working directory lies inside `dir` (a deleted cwd still shows its old path). */
function processesInside(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '');
    } catch {
      continue; // gone, a zombie, or not ours to read
    }
    if (cwd === dir || cwd.startsWith(`${dir}${path.sep}`)) pids.push(Number(entry));
  }
  return pids;
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: cleanEnv(), timeout: 30_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const PORTS = [
  ...['--control-port', '0', '--http-port', '0', '--http-host', '127.0.0.1'],
  ...['--grpc-port', '0', '--coap-port', '0', '--mqtt-port', '0'],
];

describe('skiff serve', () => {
  let dataDir: string;
  let cwd: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    cwd = await makeDataDir();
  });

  afterAll(async () => {
    await Promise.all([...children].map(stopChild));
    if (dataDir) await removeDir(dataDir);
    if (cwd) await removeDir(cwd);
  });

  it('starts, deploys, serves, and stops cleanly on SIGTERM', async () => {
    const serve = startServe(
      ['--data-dir', dataDir, ...PORTS, '--log-level', 'warn', '--deploy', HELLO],
      cwd,
    );
    try {
      const [, curlUrl] = await serve.waitForStdout(/^ {2}curl (http:\/\/\S+)$/m, 20_000);
      const out = serve.stdout();
      expect(out).toContain(`Skiff is up (data dir ${dataDir})`);
      const control = out.match(/^ {2}control +(http:\/\/127\.0\.0\.1:\d+)$/gm) ?? [];
      const http = out.match(/^ {2}http +(http:\/\/127\.0\.0\.1:\d+)$/gm) ?? [];
      expect(control).toHaveLength(1);
      expect(http).toHaveLength(1);
      expect(out).toMatch(/^Deployed hello version 1; call it with:$/m);

      const endpoints = JSON.parse(await readFile(path.join(dataDir, 'endpoints.json'), 'utf8')) as Record<
        string,
        string
      >;
      // the enabled triggers add theirs; the CLI from dist/ finds the shipped .proto
      expect(Object.keys(endpoints)).toEqual(
        expect.arrayContaining(['control', 'http', 'grpc', 'coap', 'mqtt']),
      );
      for (const name of ['grpc', 'coap', 'mqtt']) {
        expect(endpoints[name]).toMatch(new RegExp(`^${name}://127\\.0\\.0\\.1:\\d+$`));
        expect(out).toContain(`  ${name.padEnd(8)} ${endpoints[name]}`);
      }
      expect(control[0]).toBe(`  control  ${endpoints['control']}`);
      expect(http[0]).toBe(`  http     ${endpoints['http']}`);
      expect(curlUrl).toBe(`${endpoints['http']}/hello`);

      const token = await stat(path.join(dataDir, 'admin-token'));
      expect(token.mode & 0o777).toBe(0o600);

      const res = await fetch(curlUrl as string, { signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ message: 'Hello, world!', function: 'hello', version: 1 });
      // the call started an instance whose cwd is inside the data dir: the check below means something
      expect(processesInside(dataDir).length).toBeGreaterThan(0);

      serve.child.kill('SIGTERM');
      expect(await serve.exited(10_000)).toEqual({ code: 0, signal: null });
      expect(serve.stdout()).toContain('Skiff stopped.');
      expect(processesInside(dataDir)).toEqual([]);
    } finally {
      await stopChild(serve.child);
    }
  });

  it('keeps deployed functions across a restart on the same data dir', async () => {
    const serve = startServe(['--data-dir', dataDir, ...PORTS, '--log-level', 'warn'], cwd);
    try {
      await serve.waitForStdout(/^Press Ctrl\+C to stop\.$/m, 20_000);
      const r = await runCli(['fn', 'list', '--json', '--data-dir', dataDir]);
      expect(r.code, r.stderr).toBe(0);
      const body = JSON.parse(r.stdout) as { functions: { name: string; liveVersion: number | null }[] };
      expect(body.functions).toEqual([expect.objectContaining({ name: 'hello', liveVersion: 1 })]);

      const endpoints = JSON.parse(await readFile(path.join(dataDir, 'endpoints.json'), 'utf8')) as Record<
        string,
        string
      >;
      const res = await fetch(`${endpoints['http']}/hello?name=again`, {
        signal: AbortSignal.timeout(10_000),
      });
      expect(await res.json()).toMatchObject({ message: 'Hello, again!', version: 1 });

      serve.child.kill('SIGTERM');
      expect(await serve.exited(10_000)).toEqual({ code: 0, signal: null });
      expect(processesInside(dataDir)).toEqual([]);
    } finally {
      await stopChild(serve.child);
    }
  });

  it('in tinyFaaS mode, answers GET / at once and exits within a second of SIGINT (1, 24)', async () => {
    const serve = startServe(['--data-dir', dataDir, ...PORTS, '--log-level', 'warn', '--tinyfaas'], cwd);
    try {
      await serve.waitForStdout(/^Press Ctrl\+C to stop\.$/m, 20_000);
      const endpoints = JSON.parse(await readFile(path.join(dataDir, 'endpoints.json'), 'utf8')) as Record<
        string,
        string
      >;
      for (const url of [endpoints['control'], endpoints['http']]) {
        expect((await fetch(`${url}/`)).status).toBeGreaterThanOrEqual(200);
      }
      expect((await fetch(`${endpoints['http']}/hello`)).status).toBe(200);
      const started = Date.now();
      serve.child.kill('SIGINT');
      expect(await serve.exited(5_000)).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(processesInside(dataDir)).toEqual([]);
    } finally {
      await stopChild(serve.child);
    }
  });

  it('refuses an unknown key in ./skiff.config.json', async () => {
    const dir = await makeDataDir();
    try {
      await writeFile(path.join(dir, 'skiff.config.json'), JSON.stringify({ bogus: 1 }));
      const serve = startServe(['--data-dir', path.join(dir, 'data'), ...PORTS], dir);
      try {
        const exit = await serve.exited(15_000);
        expect(exit.code).toBe(1);
        expect(exit.signal).toBeNull();
        expect(serve.stderr()).toContain('SKIFF_E_CONFIG_INVALID');
        expect(serve.stderr()).toContain('bogus');
      } finally {
        await stopChild(serve.child);
      }
    } finally {
      await removeDir(dir);
    }
  });

  it('refuses an unknown key in a --config file', async () => {
    const dir = await makeDataDir();
    try {
      const file = path.join(dir, 'custom.json');
      await writeFile(file, JSON.stringify({ bogus: 1 }));
      const serve = startServe(['--config', file, '--data-dir', path.join(dir, 'data'), ...PORTS], cwd);
      try {
        const exit = await serve.exited(15_000);
        expect(exit.code).toBe(1);
        expect(exit.signal).toBeNull();
        expect(serve.stderr()).toContain('SKIFF_E_CONFIG_INVALID');
        expect(serve.stderr()).toContain('bogus');
        expect(serve.stderr()).toContain(file);
      } finally {
        await stopChild(serve.child);
      }
    } finally {
      await removeDir(dir);
    }
  });

  it('names a function deployed with --deploy after skiff.json, as skiff fn deploy does', async () => {
    const dir = await makeDataDir();
    try {
      const fn = path.join(dir, 'Some_Folder');
      await cp(HELLO, fn, { recursive: true });
      await writeFile(path.join(fn, 'skiff.json'), JSON.stringify({ name: 'greeter', runtime: 'node' }));
      const serve = startServe(
        ['--data-dir', path.join(dir, 'data'), ...PORTS, '--log-level', 'warn', '--deploy', fn],
        dir,
      );
      try {
        const [, curlUrl] = await serve.waitForStdout(/^ {2}curl (http:\/\/\S+)$/m, 20_000);
        expect(serve.stdout()).toMatch(/^Deployed greeter version 1; call it with:$/m);
        expect(curlUrl).toMatch(/\/greeter$/);
        const res = await fetch(curlUrl as string, { signal: AbortSignal.timeout(10_000) });
        expect(await res.json()).toMatchObject({ function: 'greeter', version: 1 });
      } finally {
        await stopChild(serve.child);
      }
    } finally {
      await removeDir(dir);
    }
  });
});
