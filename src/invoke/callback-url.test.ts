import { describe, expect, it } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import { acceptCallbackUrl, type Resolve } from './callback-url.js';

const deny = { allowPrivate: false };
/** A resolver that answers from a table (names a test cannot put into this machine's DNS). */
const table =
  (answers: Record<string, string[]>): Resolve =>
  (hostname) => {
    const found = answers[hostname];
    if (found === undefined) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      return Promise.reject(err);
    }
    return Promise.resolve(found);
  };

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SkiffError);
  expect((err as SkiffError).code).toBe('SKIFF_E_FORBIDDEN_DESTINATION');
  return (err as SkiffError).message;
}

describe('acceptCallbackUrl', () => {
  const dns = table({
    'rebind.example': ['127.0.0.1'],
    'mixed.example': ['93.184.216.34', '10.0.0.7'],
    'v6.example': ['::1'],
    'meta.example': ['169.254.169.254'],
    'public.example': ['93.184.216.34', '2606:2800:220:1::1'],
    'empty.example': [],
  });

  it.each(['rebind.example', 'mixed.example', 'v6.example', 'meta.example'])(
    'refuses a name that resolves to a forbidden address (%s)',
    async (name) => {
      expect(await refusal(acceptCallbackUrl(`http://${name}/cb`, deny, dns))).toMatch(/resolves to/);
    },
  );

  it('refuses a name that does not resolve, or has no address', async () => {
    expect(await refusal(acceptCallbackUrl('http://nowhere.example/cb', deny, dns))).toMatch(/ENOTFOUND/);
    expect(await refusal(acceptCallbackUrl('http://empty.example/cb', deny, dns))).toMatch(/no address/);
  });

  it('refuses a name whose DNS answer does not come within the time limit', async () => {
    const never: Resolve = () => new Promise(() => undefined);
    expect(await refusal(acceptCallbackUrl('http://slow.example/cb', deny, never))).toMatch(/within/);
  }, 10_000);

  it('refuses literals and local names without asking DNS', async () => {
    const asked: string[] = [];
    const spy: Resolve = (h) => {
      asked.push(h);
      return Promise.resolve(['93.184.216.34']);
    };
    for (const url of ['http://127.0.0.1/', 'http://[::1]/', 'http://localhost/', 'http://intranet/']) {
      await refusal(acceptCallbackUrl(url, deny, spy));
    }
    expect(asked).toEqual([]);
  });

  it('accepts a public name and returns the normalised URL', async () => {
    expect(await acceptCallbackUrl('HTTPS://Public.Example/cb?x=1', deny, dns)).toBe(
      'https://public.example/cb?x=1',
    );
  });

  it('with allowPrivate, accepts loopback without asking DNS but still refuses other schemes', async () => {
    const allow = { allowPrivate: true };
    expect(
      await acceptCallbackUrl('http://rebind.example/cb', allow, () => Promise.reject(new Error())),
    ).toBe('http://rebind.example/cb');
    expect(await acceptCallbackUrl('http://127.0.0.1:9/cb', allow)).toBe('http://127.0.0.1:9/cb');
    await refusal(acceptCallbackUrl('file:///etc/passwd', allow));
  });
});
