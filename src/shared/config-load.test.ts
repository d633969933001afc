import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from './config-load.js';
import type { ConfigSection } from './config-section.js';
import { SkiffError } from './errors.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-config-'));
  dirs.push(dir);
  return dir;
}

function configError(fn: () => unknown): SkiffError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SkiffError) return err;
    throw err;
  }
  throw new Error('expected a SkiffError');
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has embedded defaults', () => {
    const cwd = tempDir();
    const config = loadConfig({ cwd, env: {} });
    expect(config.dataDir).toBe(path.join(cwd, '.skiff'));
    expect(config.control).toEqual({
      host: 'localhost',
      port: 8080,
      maxConnections: 256,
      maxLogStreams: 32,
      allowedHosts: [],
      metricsToken: null,
      metricsPublic: false,
    });
    expect(config.http).toEqual({
      host: '::',
      port: 8000,
      publicHosts: [],
      maxBodyBytes: 6 * 1024 * 1024,
      maxConnections: 8192,
      maxInFlightPerAddress: 256,
    });
    expect(config.async.maxQueuedBytesPerFunction).toBeNull(); // a quarter of maxQueuedBytes
    expect(config.connections).toMatchObject({
      maxPerAddress: 256,
      headersTimeoutMs: 10_000,
      reserveFds: 1024,
    });
    expect(config.functions.defaultTimeoutMs).toBe(30_000);
    // nothing a stranger chooses reaches private addresses, and loopback is no credential
    expect(config.outbound).toEqual({ allowPrivate: false });
    // compatibility APIs' sections come from the composition root (tested in src/compat/)
    expect(config.compat).toEqual({});
  });

  it('layers file < environment < flags', () => {
    const cwd = tempDir();
    writeFileSync(
      path.join(cwd, 'skiff.config.json'),
      JSON.stringify({ http: { port: 1 }, control: { port: 2 }, logLevel: 'warn' }),
    );
    const config = loadConfig({
      cwd,
      env: { SKIFF_HTTP_PORT: '3', SKIFF_HOME: '/tmp/skiff-home' },
      flags: { http: { port: 4 } },
    });
    expect(config.http.port).toBe(4);
    expect(config.control.port).toBe(2);
    expect(config.logLevel).toBe('warn');
    expect(config.dataDir).toBe('/tmp/skiff-home');
  });

  it('takes the metrics token from the environment, and refuses a short one', () => {
    const cwd = tempDir();
    expect(loadConfig({ cwd, env: {} }).control.metricsToken).toBeNull();
    const token = 'a-metrics-token-0123456789';
    expect(loadConfig({ cwd, env: { SKIFF_METRICS_TOKEN: token } }).control.metricsToken).toBe(token);
    const err = configError(() => loadConfig({ cwd, env: { SKIFF_METRICS_TOKEN: 'short' } }));
    expect(err.code).toBe('SKIFF_E_CONFIG_INVALID');
    expect(err.message).toContain('control.metricsToken');
  });

  it('names an unknown setting', () => {
    const cwd = tempDir();
    writeFileSync(path.join(cwd, 'skiff.config.json'), JSON.stringify({ http: { prot: 80 } }));
    const err = configError(() => loadConfig({ cwd, env: {} }));
    expect(err.code).toBe('SKIFF_E_CONFIG_INVALID');
    expect(err.message).toContain('prot');
  });

  it('names an invalid value, from the environment too', () => {
    const cwd = tempDir();
    expect(configError(() => loadConfig({ cwd, env: { SKIFF_HTTP_PORT: 'eighty' } })).message).toContain(
      'SKIFF_HTTP_PORT',
    );
    const err = configError(() => loadConfig({ cwd, env: {}, flags: { control: { port: 70000 } } }));
    expect(err.message).toContain('control.port');
  });

  it('reports a config file that is not JSON', () => {
    const cwd = tempDir();
    const file = path.join(cwd, 'custom.json');
    writeFileSync(file, '{ nope');
    const err = configError(() => loadConfig({ cwd, env: {}, file }));
    expect(err.message).toContain('custom.json');
  });

  it('parses the compatibility sections it is given, refuses other names and lets them read the environment', () => {
    const seen: string[] = [];
    const sections: Record<string, ConfigSection> = {
      demo: {
        schema: z
          .object({ enabled: z.boolean().default(false), port: z.number().int().default(9900) })
          .strict()
          .prefault({}),
        fromEnv: (config, env) => {
          if (env['DEMO_PORT'] !== undefined) config.http.port = Number(env['DEMO_PORT']);
          seen.push(JSON.stringify(config.compat['demo']));
        },
      },
    };
    const plain = loadConfig({ env: {}, cwd: '/tmp' }, sections);
    expect(plain.compat).toEqual({ demo: { enabled: false, port: 9900 } });
    const on = loadConfig(
      { env: { DEMO_PORT: '8100' }, flags: { compat: { demo: { enabled: true } } }, cwd: '/tmp' },
      sections,
    );
    expect(on.http.port).toBe(8100);
    expect(seen).toEqual(['{"enabled":false,"port":9900}', '{"enabled":true,"port":9900}']);
    const unknown = configError(() =>
      loadConfig({ env: {}, flags: { compat: { other: {} } }, cwd: '/tmp' }, sections),
    );
    expect(unknown.message).toContain('compat: other');
    const field = configError(() =>
      loadConfig({ env: {}, flags: { compat: { demo: { prot: 1 } } }, cwd: '/tmp' }, sections),
    );
    expect(field.message).toContain('compat.demo: prot');
    // without sections no name is known
    expect(() => loadConfig({ env: {}, flags: { compat: { demo: {} } }, cwd: '/tmp' })).toThrow(/compat/);
  });

  it('refuses defaults above the ceilings functions are held to', () => {
    const cwd = tempDir();
    const limits = configError(() =>
      loadConfig({ cwd, env: {}, flags: { sandbox: { limits: { memoryMb: 4096 } } } }),
    );
    expect(limits.code).toBe('SKIFF_E_CONFIG_INVALID');
    expect(limits.message).toContain(
      'sandbox.limits.memoryMb: 4096 is above sandbox.maxLimits.memoryMb (2048)',
    );
    const scaling = configError(() => loadConfig({ cwd, env: {}, flags: { scaling: { maxInstances: 50 } } }));
    expect(scaling.message).toContain('scaling.maxInstances: 50 is above functions.maxInstancesCeiling (20)');
    const raised = loadConfig({
      cwd,
      env: {},
      flags: { scaling: { maxInstances: 50 }, functions: { maxInstancesCeiling: 64 } },
    });
    expect(raised.functions).toMatchObject({ maxVersions: 20, maxInstancesCeiling: 64 });
    expect(raised.sandbox.maxLimits).toEqual({
      memoryMb: 2048,
      cpus: 2,
      pids: 1024,
      tmpMb: 1024,
      openFiles: 65_536,
      fileSizeMb: 1024,
    });
  });
});
