/**
 * Scaleway Functions handlers written the way Scaleway's own examples and local-testing packages
 * write them, deployed unchanged (flavor `scaleway`) and called through the gateway: header lookups
 * in any case, handlers below the function root importing their neighbours, and Scaleway's
 * versioned runtime names in skiff.json (docs/compat/scaleway.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

describe('Scaleway handlers as upstream writes them', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      upnodeheaders: 'scw-up-node-headers',
      uppyheaders: 'scw-up-py-headers',
      uppynested: 'scw-up-py-nested',
      upnode20: 'scw-up-node20',
      uppy311: 'scw-up-py311',
    });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  const post = (route: string) =>
    p.call(route, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=b', 'X-Demo-Flag': 'on' },
      body: '--b--',
    });

  it('Node: event headers read by their lower-case names; JSON and keys show canonical names only', async () => {
    const res = await post('/upnodeheaders');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      lower: 'multipart/form-data; boundary=b',
      custom: 'on',
      has: true,
      canonical: 'multipart/form-data; boundary=b',
      keys: ['Content-Type'],
      json: false,
    });
  });

  it('Python: event headers read in any case with [], get and in; a dump shows canonical names', async () => {
    const res = await post('/uppyheaders');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      lower: 'multipart/form-data; boundary=b',
      item: 'on',
      has: true,
      missing: 'default',
      keys: ['Content-Type'],
      dumped: 'multipart/form-data; boundary=b',
    });
  });

  it("Python: a handler below the root imports its folder's modules and the root's package/", async () => {
    const res = await p.call('/uppynested');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('neighbour+vendored');
  });

  it("Scaleway's runtime names (node20, python311) deploy as Skiff's node and python", async () => {
    expect(await (await p.call('/upnode20')).text()).toBe('node via node');
    expect(await (await p.call('/uppy311')).text()).toBe('python 3');
    const got = (await (await p.api('/v1/functions/uppy311')).json()) as { function: { runtime: string } };
    expect(got.function.runtime).toBe('python');
  });
});
