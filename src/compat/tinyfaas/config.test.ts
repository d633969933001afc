import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config-load.js';
import { DIALECTS, dialectSections } from '../index.js';

const load = (sources: Parameters<typeof loadConfig>[0]) => loadConfig(sources, dialectSections(DIALECTS));

describe('compat.tinyfaas', () => {
  it('is off by default', () => {
    expect(load({ env: {}, cwd: '/tmp' }).compat['tinyfaas']).toEqual({
      enabled: false,
      trustLoopback: false,
    });
  });

  it('reads tinyFaaS listener variables in tinyFaaS mode only, upper case first, -1 turning a listener off', () => {
    const flags = { compat: { tinyfaas: { enabled: true } } };
    const c = load({
      env: { HTTP_PORT: '8001', http_PORT: '8002', coap_PORT: '-1', GRPC_PORT: '9100' },
      flags,
      cwd: '/tmp',
    });
    expect(c.http.port).toBe(8001);
    expect(c.coap.enabled).toBe(false);
    expect(c.grpc).toMatchObject({ enabled: true, port: 9100 });
    expect(load({ env: { http_PORT: '8002' }, flags, cwd: '/tmp' }).http.port).toBe(8002);
    expect(load({ env: { HTTP_PORT: '8001' }, cwd: '/tmp' }).http.port).toBe(8000);
    expect(() => load({ env: { GRPC_PORT: 'x' }, flags, cwd: '/tmp' })).toThrow(/GRPC_PORT=x/);
    expect(() => load({ env: { COAP_PORT: '70000' }, flags, cwd: '/tmp' })).toThrow(/COAP_PORT/);
  });
});
