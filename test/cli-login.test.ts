/**
 * `skiff login` and contexts: the CLI from any folder, the order in which it picks a platform, and a
 * token that goes only to the platform it was recorded for. Runs the built CLI against a real platform.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

let p: TestPlatform;
let home: string;
let elsewhere: string;
let config: string;
let env: NodeJS.ProcessEnv;
/** A server that is not Skiff: it records the Authorization headers it is sent. */
let spy: Server;
let spyUrl: string;
const spied: (string | undefined)[] = [];

/** The CLI run from a folder that holds no platform, with its own configuration folder. */
const cli = (args: string[], extra: Record<string, string> = {}, input?: string) =>
  runCli(args, { ...env, ...extra }, 'utf8', elsewhere, input);

beforeAll(async () => {
  p = await startPlatform();
  home = await mkdtemp(path.join(os.tmpdir(), 'skiff-login-home-'));
  elsewhere = await mkdtemp(path.join(os.tmpdir(), 'skiff-login-cwd-'));
  config = path.join(home, 'skiff', 'config.json');
  env = cleanEnv({ XDG_CONFIG_HOME: home });
  const res = await p.deploy('greet', fixture('echo-cjs'));
  expect(res.status, await res.text()).toBeLessThan(300);
  spy = createServer((req, res) => {
    spied.push(req.headers.authorization);
    const body = req.url === '/v1/endpoints' ? '{"endpoints":{}}' : '{"functions":[]}';
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => spy.listen(0, '127.0.0.1', resolve));
  spyUrl = `http://127.0.0.1:${(spy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  spy?.close();
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  await rm(home, { recursive: true, force: true });
  await rm(elsewhere, { recursive: true, force: true });
});

describe('skiff login and contexts', () => {
  it('says what it looked at when no platform is found', async () => {
    const r = await cli(['fn', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('code: SKIFF_E_CLI_UNREACHABLE');
    for (const part of ['--url', 'SKIFF_URL', config, path.join(elsewhere, '.skiff', 'endpoints.json')]) {
      expect(r.stderr).toContain(part);
    }
    expect(r.stderr).toContain('skiff login');
  });

  it('refuses a wrong token and records nothing', async () => {
    const r = await cli(['login', p.controlUrl, '--token-stdin'], {}, 'not-the-token\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('code: SKIFF_E_UNAUTHORIZED');
    expect(r.stderr).toContain('refused the token');
    await expect(stat(config)).rejects.toThrow(/ENOENT/);
  });

  it('logs in with the token on stdin, keeps it readable by the user only, and works from any folder', async () => {
    const r = await cli(['login', p.controlUrl, '--token-stdin', '--name', 'local'], {}, `${p.token}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("context 'local'");
    expect(r.stdout).toContain(`gateway: ${p.httpUrl}`);
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(config))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(config, 'utf8')) as { current: string };
    expect(saved.current).toBe('local');

    const list = await cli(['fn', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('"greet"');
    const call = await cli(['invoke', 'greet']);
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout.length).toBeGreaterThan(0);
  });

  it('lists contexts with the current one marked and never shows a token', async () => {
    const table = await cli(['context', 'list']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\*\s+local\s+http:\/\/127\.0\.0\.1:\d+/);
    const json = await cli(['context', 'list', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      current: 'local',
      contexts: [{ name: 'local', url: p.controlUrl, gateway: p.httpUrl, current: true }],
    });
    expect(table.stdout + json.stdout).not.toContain(p.token);
  });

  it('puts flags before the environment before the current context, and sends a token only where it belongs', async () => {
    spied.length = 0;
    // SKIFF_URL beats the current context: the context's token is not sent to that other address
    const fromEnv = await cli(['fn', 'list', '--json'], { SKIFF_URL: spyUrl });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(spied).toEqual([undefined]);
    // --url beats SKIFF_URL, with SKIFF_TOKEN as its token
    const fromFlag = await cli(['fn', 'list', '--json', '--url', spyUrl], {
      SKIFF_URL: 'http://127.0.0.1:1',
      SKIFF_TOKEN: 'given-token',
    });
    expect(fromFlag.code, fromFlag.stderr).toBe(0);
    expect(spied).toEqual([undefined, 'Bearer given-token']);
    // --context beats SKIFF_URL and brings its own token
    const fromContext = await cli(['fn', 'list', '--json', '--context', 'local'], { SKIFF_URL: spyUrl });
    expect(fromContext.code, fromContext.stderr).toBe(0);
    expect(fromContext.stdout).toContain('"greet"');
    expect(spied).toHaveLength(2);
  });

  it('switches contexts, refuses an unknown one by listing the known ones, and forgets on logout', async () => {
    const second = await cli(['login', spyUrl, '--name', 'spy'], { SKIFF_TOKEN: p.token });
    expect(second.code, second.stderr).toBe(0);
    const unknown = await cli(['context', 'use', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no context named 'nope'");
    expect(unknown.stderr).toContain('local, spy');
    expect((await cli(['context', 'use', 'local'])).code).toBe(0);
    expect((await cli(['fn', 'list', '--json'])).stdout).toContain('"greet"');
    const out = await cli(['logout']);
    expect(out.code, out.stderr).toBe(0);
    const after = JSON.parse(await readFile(config, 'utf8')) as { current?: string; contexts: object };
    expect(after.current).toBeUndefined();
    expect(Object.keys(after.contexts)).toEqual(['spy']);
  });

  it('says which file is broken when the configuration does not parse', async () => {
    await writeFile(config, '{"contexts": {"a": {"url": 5}}}');
    const r = await cli(['context', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${config} is not a valid Skiff CLI configuration`);
  });
});
