/**
 * `skiff logs -f` as a user runs it (issue 20 item 4): a spawned CLI following a spawned platform
 * prints new lines, survives a restart of the platform (reconnecting with Last-Event-ID: no line lost
 * or printed twice), and stops cleanly on Ctrl+C (SIGINT).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv } from './helpers/cli.js';
import { fixture, makeDataDir, removeDir } from './helpers/platform.js';
import { deployTo, exited, spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { waitUntil } from './helpers/wait.js';

interface Cli {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
}

const children: Cli[] = [];
let serve: ServeProcess | undefined;
let dataDir = '';

function startCli(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv({ SKIFF_HOME: dataDir }) });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const cli = { child, out: () => out, err: () => err };
  children.push(cli);
  return cli;
}

async function get(path: string): Promise<void> {
  const res = await fetch(`${serve?.http ?? ''}${path}`);
  expect(res.status).toBe(200);
  await res.text();
}

afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  if (serve !== undefined) {
    serve.child.kill('SIGTERM');
    await exited(serve.child);
  }
  if (dataDir !== '') await removeDir(dataDir);
});

describe('skiff logs -f', () => {
  it('prints lines as they come, reconnects after a platform restart without gaps or repeats, stops on Ctrl+C', async () => {
    dataDir = await makeDataDir();
    serve = await spawnServe(dataDir);
    expect((await deployTo(serve, 'echo', fixture('echo-cjs'))).status).toBe(201);
    const port = new URL(serve.control).port;

    const cli = startCli(['logs', 'echo', '-f', '--limit', '1']);
    const json = startCli(['logs', '--all', '-f', '--json', '--limit', '1']);
    await waitUntil(
      'the recent line',
      () => cli.out().includes('build') && json.out().includes('\n'),
      20_000,
    );
    await get('/echo/one');
    await waitUntil(
      () => `the live line; stdout: ${cli.out()} stderr: ${cli.err()}`,
      () => cli.out().includes('GET /one'),
      20_000,
    );

    // the platform stops and comes back on the same control port: the CLI reconnects by itself
    serve.child.kill('SIGTERM');
    await exited(serve.child);
    serve = await spawnServe(dataDir, { args: ['--control-port', port] });
    await waitUntil(
      () => `the CLI to reconnect; stderr: ${cli.err()}`,
      () => cli.err().includes('reconnected'),
      20_000,
    );
    await get('/echo/two');
    await waitUntil(
      () => `the line after the restart; stdout: ${cli.out()}`,
      () => cli.out().includes('GET /two') && json.out().includes('GET /two'),
      30_000,
    );
    expect(cli.out().split('GET /one').length - 1).toBe(1);
    expect(cli.out().split('GET /two').length - 1).toBe(1);
    expect(cli.out()).toMatch(/^\S+Z stdout \[[0-9a-f]{8}\] echo called GET \/one$/m);

    // --json: one JSON object a line (NDJSON), each naming its function and its id
    const objects = json
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { function: string; id: string; message: string });
    expect(objects.filter((o) => o.message.includes('GET /two'))).toEqual([
      expect.objectContaining({ function: 'echo', id: expect.stringMatching(/^echo:\d+:\d+$/) }),
    ]);
    expect(objects.filter((o) => o.message.includes('GET /one'))).toHaveLength(1);

    for (const c of [cli, json]) {
      c.child.kill('SIGINT');
      await exited(c.child);
      expect(c.child.exitCode).toBe(0);
    }
  }, 120_000);

  it('refuses --root with -f, and a name with --all', async () => {
    const a = startCli(['logs', 'echo', '-f', '--root', 'x']);
    await exited(a.child);
    expect(a.child.exitCode).not.toBe(0);
    expect(a.err()).toContain('--root cannot be used with --follow');
    const b = startCli(['logs', 'echo', '--all']);
    await exited(b.child);
    expect(b.err()).toContain('not both');
  });
});
