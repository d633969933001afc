/**
 * A rule with `attempts` whose message fails while the platform stops: the attempts left were
 * dropped, the failure record published (claiming every attempt was made) and the message
 * acknowledged, so a failure the shutdown itself caused (an instance stopped under the call) used up
 * a QoS 1 message's retries for good. The message is kept in the session instead, to be tried again
 * at the next start, as the MQTT page promises for a message that did not finish.
 */
import { describe, expect, it } from 'vitest';
import type { Invocation, Result } from '../../src/model/invocation.js';
import { SkiffError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import { createRuleRunner } from '../../src/triggers/mqtt-dispatch.js';
import type { Message } from '../../src/triggers/mqtt-inbound.js';
import type { BoundRule } from '../../src/triggers/mqtt-rules.js';

const rule: BoundRule = {
  function: 'fn',
  flavor: 'native',
  subscribe: 'in/#',
  publish: 'out/errors',
  qos: 1,
  publishQos: 1,
  attempts: 3,
  onError: 'publish',
  maxPayloadBytes: undefined,
};

const message: Message = {
  topic: 'in/a',
  payload: Buffer.from('m'),
  qos: 1,
  retain: false,
  contentType: undefined,
  subscriptionIds: undefined,
  packetId: 7,
  receivedAt: Date.now(),
};

function runner(fail: (n: number) => Result | Error, stopsAfter: number) {
  const calls: Invocation[] = [];
  const published: { topic: string; payload: Buffer }[] = [];
  const run = createRuleRunner({
    invoke: (inv) => {
      calls.push(inv);
      const outcome = fail(calls.length);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    },
    publish: (topic, payload) => {
      published.push({ topic, payload });
      return Promise.resolve();
    },
    flavors: undefined,
    maxPayloadBytes: 1024 * 1024,
    stopping: () => calls.length >= stopsAfter,
    logger: createLogger('silent'),
  });
  return { run, calls, published };
}

describe('a failed attempt while the platform stops', () => {
  it('keeps the message for the next start instead of publishing a record of attempts never made', async () => {
    const crashed = new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the function instance crashed');
    const { run, calls, published } = runner(() => crashed, 1);
    expect(await run(rule, message)).toBe('keep');
    expect(calls).toHaveLength(1);
    expect(published).toEqual([]);
  });

  it('still publishes the record when every attempt was made', async () => {
    const { run, calls, published } = runner(
      () => ({ status: 500, headers: [], body: Buffer.from('boom') }),
      Number.POSITIVE_INFINITY,
    );
    expect(await run(rule, message)).toBe('ack');
    expect(calls).toHaveLength(3);
    expect(published).toHaveLength(1);
    expect(JSON.parse(published[0]?.payload.toString() ?? '{}')).toMatchObject({
      attempts: 3,
      error: { message: 'boom' },
    });
  });

  it('acknowledges a QoS 0 message: there is no session to keep it in', async () => {
    const crashed = new SkiffError('SKIFF_E_INSTANCE_CRASHED', 'the function instance crashed');
    const { run } = runner(() => crashed, 1);
    expect(await run(rule, { ...message, qos: 0, packetId: undefined })).toBe('ack');
  });
});
