/**
 * `skiff fn get` on a real platform: each instance's own PID (the bridge inside the sandbox, not
 * bubblewrap) and its RSS as /proc reads it, the cgroup's usage labelled apart, and the whole resolved
 * spec (env, secret names, triggers, limits, network, access); a secret's value never appears.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const SECRET = 'tr0ub4dor-and-3-never-shown';

let p: TestPlatform;
let work: string;

interface Detail {
  function: {
    instances: {
      pid: number | null;
      sandboxPid: number | null;
      rssBytes: number | null;
      cgroupMemoryBytes: number | null;
      state: string;
    }[];
    resolved: {
      version: number;
      runtime: string;
      handler: string;
      flavor: string;
      env: Record<string, string>;
      secrets: string[];
      triggers: { mqtt: unknown[]; cron: { schedule: string }[] };
      timeoutMs: number;
      limits: Record<string, number>;
      network: string;
      access: { callers: string[] | null; private: boolean };
    };
    traffic: { version: number; percent: number }[];
  };
}

const argv = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const vmRss = (pid: number): number =>
  Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

beforeAll(async () => {
  p = await startPlatform();
  work = await makeDataDir();
  const dir = path.join(work, 'shown');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'index.mjs'), 'export default () => "ok";\n');
  await writeFile(
    path.join(dir, 'skiff.json'),
    JSON.stringify({
      runtime: 'node',
      env: { GREETING: 'hello' },
      timeoutMs: 7000,
      limits: { memoryMb: 200, pids: 50 },
      triggers: { cron: [{ schedule: '0 0 1 1 *' }] },
      access: { callers: ['caller-fn'] },
    }),
  );
  expect((await p.deploy('shown', dir)).status).toBe(201);
  const secret = await p.api('/v1/functions/shown/secrets/API_KEY', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: SECRET }),
  });
  expect(secret.status).toBeLessThan(300);
  expect(await (await p.call('/shown')).text()).toBe('ok');
});

afterAll(async () => {
  await p?.stop();
  if (p) await removeDir(p.dataDir);
  if (work) await removeDir(work);
});

describe('fn get', () => {
  it("shows the instance's own PID and RSS, the cgroup's usage apart, and the resolved spec without secret values", async () => {
    const env = cleanEnv({ SKIFF_HOME: p.dataDir });
    const json = await runCli(['fn', 'get', 'shown', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toContain(SECRET);
    const detail = JSON.parse(json.stdout) as Detail;
    const instance = detail.function.instances.find((i) => i.state === 'ready');
    expect(instance, json.stdout).toBeDefined();
    const { pid, sandboxPid, rssBytes, cgroupMemoryBytes } = instance as Detail['function']['instances'][0];

    // the PID is the bridge's, below the sandbox's own process (bubblewrap)
    expect(pid).not.toBeNull();
    const own = argv(pid as number);
    expect(path.basename(own[0] ?? '')).not.toBe('bwrap');
    expect(own.join(' ')).toContain('bridge');
    if (sandboxPid !== pid) expect(path.basename(argv(sandboxPid as number)[0] ?? '')).toBe('bwrap');

    // RSS is that process's VmRSS (it moves a little between the two reads)
    const proc = vmRss(pid as number);
    expect(rssBytes).not.toBeNull();
    expect(Math.abs((rssBytes as number) - proc)).toBeLessThan(Math.max(4 * 1048576, proc * 0.2));
    // the cgroup's charge is its own field (null on a machine without cgroups)
    if (cgroupMemoryBytes !== null) expect(cgroupMemoryBytes).toBeGreaterThan(0);

    expect(detail.function.resolved).toMatchObject({
      version: 1,
      runtime: 'node',
      handler: 'index.mjs',
      flavor: 'native',
      env: { GREETING: 'hello' },
      secrets: ['API_KEY'],
      triggers: { mqtt: [], cron: [{ schedule: '0 0 1 1 *' }] },
      timeoutMs: 7000,
      limits: { memoryMb: 200, pids: 50 },
      network: 'none',
      access: { callers: ['caller-fn'], private: false },
    });
    expect(detail.function.traffic).toEqual([{ version: 1, percent: 100 }]);

    const human = await runCli(['fn', 'get', 'shown'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toContain(SECRET);
    expect(human.stdout).toContain(`  ${pid} `);
    expect(human.stdout).toMatch(/PID +RSS +CGROUP-MEMORY/);
    expect(human.stdout).toContain('Env:       GREETING=hello');
    expect(human.stdout).toContain('Secrets:   API_KEY (values not shown)');
    expect(human.stdout).toContain('cron "0 0 1 1 *" (UTC)');
    expect(human.stdout).toContain('memory 200 MiB');
    expect(human.stdout).toContain('pids 50');
    expect(human.stdout).toContain('Timeout:   7000 ms');
    expect(human.stdout).toContain('Network:   none');
    expect(human.stdout).toContain('Callers:   caller-fn');

    // nor through the API's own answer
    expect(await (await p.api('/v1/functions/shown')).text()).not.toContain(SECRET);
  });
});
