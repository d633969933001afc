import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BaetylServices, resolveV2, SERVICES_FILE, servicesFor } from './services.js';

const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-test-baetyl-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('BaetylServices', () => {
  it('records, lists and forgets services, kept in the data directory across instances', () => {
    const dir = tmp();
    const file = path.join(dir, SERVICES_FILE);
    const services = new BaetylServices(file);
    expect(services.lookup('svc')).toBeUndefined();
    services.set('svc', ['b', 'a']);
    services.set('Other_1.x', []);
    expect(services.lookup('svc')).toEqual(['b', 'a']);
    expect(services.list()).toEqual([
      { service: 'Other_1.x', functions: [] },
      { service: 'svc', functions: ['b', 'a'] },
    ]);
    expect(new BaetylServices(file).lookup('svc')).toEqual(['b', 'a']);
    expect(services.delete('svc')).toBe(true);
    expect(services.delete('svc')).toBe(false);
    expect(new BaetylServices(file).list()).toEqual([{ service: 'Other_1.x', functions: [] }]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ services: { 'Other_1.x': [] } });
  });

  it('refuses names that are no path segment and empty function names, and a broken file', () => {
    const dir = tmp();
    const services = new BaetylServices(path.join(dir, SERVICES_FILE));
    for (const bad of ['', 'a/b', '.hidden', 'a b', 'x'.repeat(254)]) {
      expect(() => services.set(bad, ['f']), bad).toThrow(/service name/);
    }
    expect(() => services.set('ok', [''])).toThrow(/non-empty/);
    writeFileSync(path.join(dir, 'broken.json'), '{"services": {"a": "b"}}');
    expect(() => new BaetylServices(path.join(dir, 'broken.json'))).toThrow(/not a Baetyl services file/);
  });

  it('gives one instance per data directory', () => {
    const dir = tmp();
    expect(servicesFor(dir)).toBe(servicesFor(`${dir}/`));
    expect(servicesFor(dir)).not.toBe(servicesFor(tmp()));
  });
});

describe('resolveV2', () => {
  const recorded: Record<string, string[]> = { svc: ['first', 'second'], empty: [] };
  const lookup = (s: string) => recorded[s];
  const baetyl = (name: string) => name === 'solo';

  it('takes the named function of a recorded service, or its first for none', () => {
    expect(resolveV2(lookup, baetyl, 'svc', 'second')).toEqual({ ok: true, fn: 'second' });
    expect(resolveV2(lookup, baetyl, 'svc', '')).toEqual({ ok: true, fn: 'first' });
    expect(resolveV2(lookup, baetyl, 'svc', 'solo')).toEqual({ ok: false, reason: 'not-found' });
    expect(resolveV2(lookup, baetyl, 'empty', '')).toEqual({ ok: false, reason: 'no-functions' });
  });

  it('makes a baetyl function a service of itself, and knows no other service', () => {
    expect(resolveV2(lookup, baetyl, 'solo', '')).toEqual({ ok: true, fn: 'solo' });
    expect(resolveV2(lookup, baetyl, 'solo', 'solo')).toEqual({ ok: true, fn: 'solo' });
    expect(resolveV2(lookup, baetyl, 'solo', 'other')).toEqual({ ok: false, reason: 'not-found' });
    expect(resolveV2(lookup, baetyl, 'nosuch', '')).toEqual({ ok: false, reason: 'no-service' });
  });
});
