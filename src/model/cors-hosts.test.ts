/** skiff.json `cors` and `routes` as the spec schema reads them, and the gateway's host table. */
import { describe, expect, it } from 'vitest';
import { compileCors, corsSchema, normalOrigin } from './cors.js';
import { HostTable, hostKey, routesSchema } from './host-routes.js';
import { specSchema } from './spec.js';

const problems = (
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } },
  value: unknown,
) => schema.safeParse(value).error?.issues.map((i) => i.message) ?? [];

describe('cors in skiff.json', () => {
  it('takes exact origins, "*" alone, and refuses credentials with "*"', () => {
    expect(
      problems(corsSchema, { origins: ['https://a.example.com', 'http://[::1]:8080', 'app://x'] }),
    ).toEqual([]);
    expect(problems(corsSchema, { origins: ['*'], credentials: true })[0]).toMatch(/browsers refuse it/);
    expect(problems(corsSchema, { origins: ['*', 'https://a.example'] })[0]).toMatch(/give it alone/);
    for (const bad of [
      'https://a.example/',
      'https://a.example/path',
      'a.example',
      'null',
      'https://a.example:99999',
      'https://a\nb',
    ]) {
      expect(problems(corsSchema, { origins: [bad] }).join(), bad).toMatch(
        /scheme:\/\/host\[:port\]|port is 1 to 65535/,
      );
    }
    expect(problems(corsSchema, { origins: [] })).not.toEqual([]);
    expect(problems(corsSchema, { origins: ['*'], methods: ['GET POST'] })).not.toEqual([]);
    expect(problems(corsSchema, { origins: ['*'], maxAge: 86_401 })).not.toEqual([]);
    expect(
      problems(corsSchema, { origins: Array.from({ length: 65 }, (_, i) => `https://a${i}.example`) }),
    ).not.toEqual([]);
    expect(problems(specSchema, { cors: { origins: ['*'], origin: '*' } })).not.toEqual([]);
  });

  it('matches origins as browsers send them', () => {
    expect(normalOrigin('HTTPS://App.Example.com:443')).toBe('https://app.example.com');
    expect(normalOrigin('http://a.example:80')).toBe('http://a.example');
    expect(normalOrigin('http://a.example:443')).toBe('http://a.example:443');
    const policy = compileCors({
      origins: ['HTTPS://App.Example.com'],
      methods: ['get', 'post'],
      credentials: true,
    });
    expect([...(policy?.origins ?? [])]).toEqual(['https://app.example.com']);
    expect(policy?.preflight).toEqual([
      'access-control-allow-methods',
      'GET, POST',
      'access-control-allow-credentials',
      'true',
    ]);
    expect(compileCors(undefined)).toBeUndefined();
  });
});

describe('routes in skiff.json', () => {
  it('takes DNS names and one leading wildcard, and nothing the platform is reached by', () => {
    expect(problems(routesSchema, [{ host: 'api.example.com' }, { host: '*.Example.com' }])).toEqual([]);
    for (const host of [
      'localhost',
      'a.localhost',
      'example',
      '*.com',
      '10.0.0.1',
      '[::1]',
      'a.example.com:80',
      'a..b',
      '*.*.example.com',
      'api.example.com.',
    ]) {
      expect(problems(routesSchema, [{ host }]), host).not.toEqual([]);
    }
    expect(problems(routesSchema, [{ host: 'a.example.com' }, { host: 'A.example.com' }])[0]).toMatch(
      /listed twice/,
    );
    expect(
      problems(
        routesSchema,
        Array.from({ length: 17 }, (_, i) => ({ host: `h${i}.example.com` })),
      ),
    ).not.toEqual([]);
  });

  it('routes a Host: case, port and a trailing dot ignored; exact before wildcard; one label under it', () => {
    const table = new HostTable([
      { name: 'api', routes: [{ host: 'api.example.com' }] },
      { name: 'any', routes: [{ host: '*.example.com' }] },
      { name: 'none' },
    ]);
    expect(table.route('API.Example.com:8080')).toBe('api');
    expect(table.route('api.example.com.')).toBe('api');
    expect(table.route('web.example.com')).toBe('any');
    expect(table.route('a.web.example.com')).toBeUndefined();
    expect(table.route('example.com')).toBeUndefined();
    expect(table.route('[::1]:80')).toBeUndefined();
    expect(table.route(undefined)).toBeUndefined();
    expect(table.route(`${'a'.repeat(300)}.example.com`)).toBeUndefined();
    expect(hostKey('Api.Example.com.:1')).toBe('api.example.com');
    expect(new HostTable([{ name: 'x' }]).empty).toBe(true);
  });
});
