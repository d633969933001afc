import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

/**
 * A Node instance loads Node's fetch implementation (undici, ~12 MiB of its memory) only when its
 * handler first uses Request, Response, Headers or fetch (runtimes/node/fetch-globals.ts). Each case
 * below is the first call of its own instance (one function each), so that it is the first use. The
 * warm pool is off: a warm-pool process loads undici while it waits for INIT (latency first), so
 * these instances are the ones started for their function, which load it only on first use.
 * On Node.js 22 and later, Node loads undici itself while it starts: only what a handler sees is
 * checked there (the stand-ins are linked to Node's classes at once).
 */
/** Whether Node.js loads its fetch implementation at start-up (22 and later), before any handler. */
const NODE_LOADS_UNDICI = Number(process.versions.node.split('.')[0]) >= 22;
const CASES = ['idle', 'instanceofFirst', 'memberFirst', 'staticFirst', 'fetchFirst', 'headersFirst'];

describe('Node fetch loaded on first use', () => {
  let p: TestPlatform;
  let dataDir: string;
  const fn = (name: string) => `lazy-${name.toLowerCase()}`;
  const first = (name: string) => p.call(`/${fn(name)}?case=${name}`);

  beforeAll(async () => {
    dataDir = await makeDataDir();
    p = await startPlatform({ dataDir, config: { executor: { warmPool: { node: 0 } } } as never });
    await p.deployAll(Object.fromEntries(CASES.map((name) => [fn(name), 'fetch-lazy'])));
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
    await removeDir(dataDir);
  });

  it('is not loaded by a handler that returns a Response of a string or a JSON value', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await first('idle');
      // Node.js 22 and later load undici while they start, whatever the handler does
      expect(await res.json()).toEqual({
        undici: NODE_LOADS_UNDICI,
        plainIsResponse: false,
        isResponse: true,
      });
    }
  });

  it('answers instanceof, members, statics, fetch and Headers as Node does when they come first', async () => {
    expect(await (await first('instanceofFirst')).json()).toEqual({
      isRequest: true,
      isResponse: true,
      plainIsResponse: false,
      stringIsResponse: false,
      undici: true,
    });
    const member = await p.call('/lazy-memberfirst?case=memberFirst', { method: 'POST', body: 'sent' });
    expect(await member.json()).toEqual({
      cache: 'default',
      tag: '[object Request]',
      lightTag: '[object Response]',
      ok: true,
      text: 'b',
      body: 'sent',
    });
    const fromStatic = await first('staticFirst');
    expect([fromStatic.status, await fromStatic.json()]).toEqual([202, { fromStatic: true }]);
    expect(await (await first('fetchFirst')).json()).toEqual({
      isResponse: true,
      text: 'fetched',
      isRequest: true,
    });
    const headers = await p.call('/lazy-headersfirst?case=headersFirst', { method: 'POST', body: 'x' });
    expect(await headers.json()).toEqual({
      header: '1',
      isResponse: true,
      text: 'hi',
      isRequest: true,
      hasBody: true,
    });
  });
});
