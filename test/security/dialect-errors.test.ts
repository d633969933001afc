/**
 * Error text through a dialect's gateway rules: the tinyFaaS rules answer failures in plain text with
 * the function's own error text, which a tinyFaaS-flavored function shows its callers by design. A
 * native function's error text stays in its logs, on every gateway (docs/compat/tinyfaas-flavors.md):
 * it may hold what a stack trace or a message says about the owner's secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('function errors on the tinyFaaS gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startPlatform({ config: { compat: { tinyfaas: { enabled: true } } } });
    for (const [name, dir] of [
      ['native-throws', 'py-throws'],
      ['tf-fails', 'tf-bin-fail'],
    ] as const) {
      const res = await platform.deploy(name, fixture(dir));
      expect(res.status, await res.text()).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await removeDir(platform?.dataDir ?? '');
  });

  it("does not show a native function's error text to its callers", async () => {
    const res = await platform.call('/native-throws', { method: 'POST', body: 'x' });
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).not.toContain('py-stack-marker-4417');
    expect(text).toContain('see its logs');
    const logs = await platform.logs('native-throws');
    expect(logs.some((l) => l.message.includes('py-stack-marker-4417'))).toBe(true);
  }, 60_000);

  it("shows a tinyFaaS function's own error text, as upstream does", async () => {
    const res = await platform.call('/tf-fails', { method: 'POST', body: 'x' });
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/exit status \d+/);
  }, 60_000);
});
