/**
 * Skiff as the benchmark sees it: `skiff serve` in its own process (so its CPU and memory can be read
 * from /proc), on free ports, with a data directory of its own, driven through the control API.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packDirectory } from '../src/store/archive/pack.js';
import { httpRequest, type HttpAnswer } from './lib/http.js';
import { ROOT } from './lib/paths.js';
import { processTree, sleep, start, stop, tail } from './lib/proc.js';

export const HELLO = 'Hello, world!';

export async function makeDataDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'skiff-bench-'));
}

export async function removeDataDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export const pack = (dir: string): Promise<Buffer> => packDirectory(dir);

export class SkiffProcess {
  private constructor(
    readonly dataDir: string,
    readonly child: ChildProcess,
    readonly output: () => string,
    readonly controlUrl: string,
    readonly httpUrl: string,
    readonly token: string,
    /** From spawn until the control and HTTP ports listen (`endpoints.json` written). */
    readonly startMs: number,
  ) {}

  get pid(): number {
    return this.child.pid as number;
  }

  /**
   * Starts `skiff serve` on free ports; resolves once `endpoints.json` is written. `nodeFlags` go to
   * the platform's Node (e.g. `--cpu-prof`).
   */
  static async start(
    dataDir: string,
    timeoutMs = 30_000,
    extraArgs: string[] = [],
    nodeFlags: string[] = [],
  ): Promise<SkiffProcess> {
    const endpointsFile = path.join(dataDir, 'endpoints.json');
    rmSync(endpointsFile, { force: true });
    const began = performance.now();
    const child = start(
      process.execPath,
      [
        ...nodeFlags,
        path.join(ROOT, 'bin', 'skiff.js'),
        'serve',
        '--data-dir',
        dataDir,
        '--control-port',
        '0',
        '--http-port',
        '0',
        '--http-host',
        '127.0.0.1',
        '--grpc-port',
        '0',
        '--coap-port',
        '0',
        '--mqtt-port',
        '0',
        '--log-level',
        'warn',
        ...extraArgs,
      ],
      { cwd: dataDir },
    );
    const output = tail(child);
    while (!existsSync(endpointsFile)) {
      if (child.exitCode !== null) throw new Error(`skiff serve exited (${child.exitCode}): ${output()}`);
      if (performance.now() - began > timeoutMs) {
        await stop(child);
        throw new Error(`skiff serve did not start within ${timeoutMs} ms: ${output()}`);
      }
      await sleep(2);
    }
    const startMs = performance.now() - began;
    let endpoints: { control: string; http: string } | undefined;
    for (let i = 0; i < 100 && endpoints === undefined; i++) {
      try {
        endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as { control: string; http: string };
      } catch {
        await sleep(2); // written but not complete yet
      }
    }
    if (endpoints === undefined) throw new Error(`unreadable ${endpointsFile}`);
    const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    return new SkiffProcess(dataDir, child, output, endpoints.control, endpoints.http, token, startMs);
  }

  api(route: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}) {
    return httpRequest(`${this.controlUrl}${route}`, {
      ...init,
      headers: { authorization: `Bearer ${this.token}`, ...init.headers },
      timeoutMs: 120_000,
    });
  }

  /** PUT /v1/functions/{name} with a packed folder. */
  deploy(name: string, archive: Buffer): Promise<HttpAnswer> {
    return this.api(`/v1/functions/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/gzip' },
      body: archive,
    });
  }

  call(name: string): Promise<HttpAnswer> {
    return httpRequest(`${this.httpUrl}/${name}`);
  }

  /** Pids of the function instances (children of the platform, with their own children). */
  instancePids(): number[] {
    return processTree(this.pid).slice(1);
  }

  /** Pid of the live instance of a function, from the control API. */
  async instancePid(name: string): Promise<number | undefined> {
    const answer = await this.api(`/v1/functions/${name}`);
    if (answer.status !== 200) return undefined;
    type Instances = { instances?: { pid: number | null; state: string }[] };
    const body = JSON.parse(answer.body.toString()) as { function?: Instances } & Instances;
    const fn = body.function ?? body;
    return fn.instances?.find((i) => i.pid !== null && i.state === 'ready')?.pid ?? undefined;
  }

  /**
   * Instances that ended on their own, from the platform's lines in the functions' logs
   * (`instance … exited (out of memory | exit code … | signal …)`).
   */
  instanceExits(): { oom: number; other: number } {
    const dir = path.join(this.dataDir, 'logs');
    let oom = 0;
    let other = 0;
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.includes('.jsonl'));
    } catch {
      return { oom, other };
    }
    for (const file of files) {
      let text = '';
      try {
        text = readFileSync(path.join(dir, file), 'utf8');
      } catch {
        continue;
      }
      for (const match of text.matchAll(/instance \S+ exited \(([^)]*)\)/g)) {
        if (match[1] === 'out of memory') oom++;
        else other++;
      }
    }
    return { oom, other };
  }

  /** SIGTERM (graceful stop: instances stop too); resolves with the milliseconds it took. */
  async stop(): Promise<number> {
    const began = performance.now();
    await stop(this.child);
    return performance.now() - began;
  }
}
