/**
 * EDGELESS on the real platform, beyond the compatibility list: Skiff functions as members of an
 * EDGELESS workflow (`"code": "skiff:<function>"`) and who may reach an attached member. A deployed
 * function that is a member calls an attached member by its Skiff name and casts through the aliases
 * the JSON maps; an attached member's alias may map to it; a function outside the workflow is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyWorkflow,
  b64,
  castOverHttp,
  EDGELESS_ON,
  edgelessWorkflow,
  memberName,
  startGuests,
  stopGuests,
  UUID,
  type Guest,
} from '../helpers/edgeless-guests.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

const WF = 'mix';
const G = memberName(WF, 'g');
const NIL = '00000000-0000-0000-0000-000000000000';

interface InvocationSummary {
  id: string;
  status: string;
  caller: string | null;
}

describe('EDGELESS: Skiff functions as members, and access to attached members', () => {
  let p: TestPlatform;
  let guests: Guest[] = [];
  let g: Guest;

  beforeAll(async () => {
    [p, guests] = await Promise.all([startPlatform({ config: EDGELESS_ON }), startGuests(1)]);
    [g] = guests as [Guest];
    await p.deployAll({ insider: 'call-node', outsider: 'call-node', caster: 'cast-node' });
    // g's alias out → the function caster; caster's alias done → g; insider is a member, outsider not
    await applyWorkflow(
      p,
      WF,
      edgelessWorkflow([
        { name: 'g', guest: g, mapping: { out: 'caster' } },
        { name: 'insider', code: 'skiff:insider' },
        { name: 'caster', code: 'skiff:caster', mapping: { done: 'g' } },
      ]),
    );
    await g.booted();
  });

  afterAll(async () => {
    await stopGuests(guests);
    await p?.stop();
  });

  it('a member function calls an attached member by its name; a function outside the workflow is refused', async () => {
    const from = g.mark();
    const inside = await p.call(`/insider/ping?peer=${G}`, { method: 'POST', body: 'from-insider' });
    expect(inside.status).toBe(200);
    expect(await inside.text()).toBe('from-insider');
    const call = await g.got('Call', from, (e) => e.msg === b64('from-insider'));
    // src: the node, and a fixed id made from the function's name (not the nil id, not an instance's)
    expect(call.src?.node_id).toBe(g.instance.node_id);
    expect(call.src?.function_id).toMatch(UUID);
    expect(call.src?.function_id).not.toBe(NIL);
    expect(call.src?.function_id).not.toBe(g.instance.function_id);
    // the same id for every call of that function
    const again = await p.call(`/insider/ping?peer=${G}`, { method: 'POST', body: 'again' });
    expect(await again.text()).toBe('again');
    expect((await g.got('Call', from, (e) => e.msg === b64('again'))).src).toEqual(call.src);

    const outside = await p.call(`/outsider/ping?peer=${G}`, { method: 'POST', body: 'from-outsider' });
    expect(outside.status).toBe(502);
    expect(await outside.json()).toMatchObject({ code: 'SKIFF_E_FORBIDDEN' });
    expect(g.all('Call', from).filter((e) => e.msg === b64('from-outsider'))).toEqual([]);
  });

  it("an attached member's alias mapped to a member function reaches that function", async () => {
    const from = g.mark();
    await castOverHttp(p, G, 'recast out to-caster');
    await g.hostReply('Cast', from);
    const ran = await waitFor(
      'the cast to caster to succeed',
      async () => {
        const res = await p.api('/v1/invocations?function=caster');
        const { invocations } = (await res.json()) as { invocations: InvocationSummary[] };
        return invocations.find((i) => i.caller === G && i.status === 'succeeded');
      },
      10_000,
    );
    const detail = (await (await p.api(`/v1/invocations/${ran.id}`)).json()) as {
      invocation: { trigger: string; result: { body: string } };
    };
    expect(detail.invocation.trigger).toBe('cast');
    expect(JSON.parse(Buffer.from(detail.invocation.result.body, 'base64').toString())).toMatchObject({
      function: 'caster',
      trigger: 'cast',
      caller: G,
      body: 'to-caster',
    });
  });

  it("a member function's ctx.cast(alias) goes where the workflow maps the alias", async () => {
    const from = g.mark();
    const res = await p.call('/caster/cast?to=done&path=/', { method: 'POST', body: 'slow 1 from-caster' });
    expect(res.status).toBe(200);
    const got = await g.gotCast('slow 1 from-caster', from);
    expect(got.src?.function_id).toMatch(UUID);
    expect(got.src?.function_id).not.toBe(NIL);
  });
});
