/**
 * The Router over a real SQLite registry (in memory) and a fake executor: it resolves a function's
 * live version, caches it until told otherwise (a redeploy or delete), and knows no function it
 * cannot resolve.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeExecutor, versionOf } from '../../test/helpers/fakes.js';
import { flavorSet } from '../model/flavor.js';
import type { Invocation } from '../model/invocation.js';
import { loadConfig } from '../shared/config-load.js';
import type { ArtifactStore } from '../store/artifacts.js';
import type { Registry } from '../store/registry.js';
import { SqliteRegistry } from '../store/sqlite-registry.js';
import { Router } from './router.js';

const config = loadConfig({ env: {}, cwd: '/nonexistent-skiff-test' });
const artifacts = {
  versionDir: (name: string, version: number, hash: string) => `/code/${name}/v${version}-${hash}`,
} as ArtifactStore;

let registry: SqliteRegistry;
/** How often the router read a function's row: a cached resolve reads nothing. */
let reads: number;
let executor: ReturnType<typeof fakeExecutor>;
let router: Router;

beforeEach(() => {
  registry = new SqliteRegistry(':memory:');
  reads = 0;
  const counting: Registry = Object.create(registry) as Registry;
  counting.getFunction = (name) => {
    reads += 1;
    return registry.getFunction(name);
  };
  executor = fakeExecutor();
  router = new Router(counting, artifacts, executor, config, flavorSet([]));
});
afterEach(() => registry.close());

function deploy(name: string, options: Parameters<typeof versionOf>[1] = {}): number {
  const version = registry.nextVersion(name);
  registry.addVersion(name, version, versionOf(name, options), options.failed !== true);
  return version;
}

const invocation = (fn: string): Invocation => ({
  id: 'inv-1',
  function: fn,
  trigger: 'http',
  method: 'GET',
  path: '/',
  query: '',
  headers: [],
  body: Buffer.alloc(0),
  deadline: 0,
  host: 'localhost',
});

describe('Router', () => {
  it("resolves the live version with its code folder, secrets and the function's scaling override", () => {
    deploy('hello', { hash: 'h1', spec: { env: { A: '1' } } });
    registry.setSecret('hello', 'KEY', 'v');
    registry.setScaling('hello', { maxInstances: 3 });
    expect(router.resolve('hello')).toMatchObject({
      function: 'hello',
      version: 1,
      hash: 'h1',
      handler: 'index.js',
      codeDir: '/code/hello/v1-h1',
      env: { A: '1' },
      secrets: { KEY: 'v' },
      scaling: { maxInstances: 3 },
      timeoutMs: config.functions.defaultTimeoutMs,
    });
  });

  it('skips a failed newer version: the live one stays', () => {
    deploy('hello');
    deploy('hello', { failed: true });
    expect(router.resolve('hello').version).toBe(1);
  });

  it('caches the resolved deployment: a second resolve reads no registry row', () => {
    deploy('hello');
    const first = router.resolve('hello');
    expect(reads).toBe(1);
    deploy('hello');
    expect(router.resolve('hello')).toBe(first);
    expect(reads).toBe(1);
  });

  it('resolves again after the cache is dropped (a delete, a secret or scaling change) and takes a switched deployment', () => {
    deploy('hello');
    router.resolve('hello');
    deploy('hello');
    router.setLive('hello', undefined);
    const second = router.resolve('hello');
    expect(second.version).toBe(2);
    // a redeploy hands the new deployment over at the switch
    const third = { ...second, version: 3 };
    router.setLive('hello', third);
    expect(router.resolve('hello')).toBe(third);
  });

  it('answers an unknown function with SKIFF_E_FUNCTION_NOT_FOUND, and does not remember that', () => {
    expect(() => router.resolve('nope')).toThrow(
      expect.objectContaining({
        code: 'SKIFF_E_FUNCTION_NOT_FOUND',
        message: expect.stringMatching(/deploy it first/),
      }),
    );
    deploy('nope');
    expect(router.resolve('nope').version).toBe(1);
  });

  it('answers a function whose every build failed with SKIFF_E_FUNCTION_NOT_FOUND naming that', () => {
    deploy('broken', { failed: true });
    expect(() => router.resolve('broken')).toThrow(
      expect.objectContaining({
        code: 'SKIFF_E_FUNCTION_NOT_FOUND',
        message: expect.stringMatching(/no live version/),
      }),
    );
  });

  it('forgets a deleted function once told', () => {
    deploy('hello');
    router.resolve('hello');
    registry.deleteFunction('hello');
    router.setLive('hello', undefined);
    expect(() => router.resolve('hello')).toThrow(
      expect.objectContaining({ code: 'SKIFF_E_FUNCTION_NOT_FOUND' }),
    );
  });

  it('hands an invocation to the executor with the live deployment', async () => {
    deploy('hello');
    deploy('hello');
    const result = await router.invoke(invocation('hello'));
    expect(result.body.toString()).toBe('hello@2');
    expect(executor.calls).toEqual(['invoke hello@2 inv-1']);
    // an unknown function is refused before the executor is asked (thrown at once, not rejected)
    expect(() => router.invoke(invocation('nope'))).toThrow(
      expect.objectContaining({ code: 'SKIFF_E_FUNCTION_NOT_FOUND' }),
    );
    expect(executor.calls).toHaveLength(1);
  });
});
