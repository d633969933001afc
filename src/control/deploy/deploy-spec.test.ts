import { describe, expect, it } from 'vitest';
import { resolveSpec, type DeployRequest } from './deploy-spec.js';

const base: DeployRequest = { name: 'f', archive: Buffer.alloc(0), mode: 'upsert' };
const rule = { subscribe: 'a', publish: 'b', qos: 1 as const };
const cron = { schedule: '*/5 * * * *', timezone: 'UTC', overlap: false, body: '' };

describe("a deploy's triggers", () => {
  it('come from skiff.json when the request gives none, and are absent when neither has any', () => {
    expect(resolveSpec(base, { triggers: { mqtt: [rule] } }).triggers).toEqual({ mqtt: [rule] });
    expect(resolveSpec(base, {}).triggers).toBeUndefined();
  });

  it("of the request win over skiff.json's, kind by kind", () => {
    const mine = { subscribe: 'x', publish: 'y', qos: 0 as const, attempts: 3, onError: 'publish' as const };
    const spec = resolveSpec(
      { ...base, triggers: { mqtt: [mine] } },
      { triggers: { mqtt: [rule], cron: [cron] } },
    );
    expect(spec.triggers).toEqual({ mqtt: [mine], cron: [cron] });
    // an empty list given with the deploy removes skiff.json's rules of that kind
    expect(resolveSpec({ ...base, triggers: { mqtt: [] } }, { triggers: { mqtt: [rule] } }).triggers).toEqual(
      {
        mqtt: [],
      },
    );
  });
});
