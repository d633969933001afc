/**
 * One MQTT rule run on one message (docs/triggers/mqtt.md): the function is invoked (again, up to the
 * rule's `attempts`, when it fails), a non-empty result is published to the rule's `publish` topic at
 * the lower of the message's QoS and the rule's `publishQos`, and after the last failed attempt a rule
 * with `onError: "publish"` publishes a failure record there instead: the function's flavor's format
 * when it has one (a compatibility platform's), else Skiff's (`failureRecord`).
 */
import { randomUUID } from 'node:crypto';
import type { Flavors, MqttFailure } from '../model/flavor.js';
import type { HeaderPairs, Invocation, Result } from '../model/invocation.js';
import { toSkiffError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Message, Outcome } from './mqtt-inbound.js';
import type { BoundRule } from './mqtt-rules.js';

/** Failures worth another try after `retryAfterSec`: the platform was busy, not the function wrong. */
const BUSY = new Set<ErrorCode>(['SKIFF_E_TOO_MANY_REQUESTS', 'SKIFF_E_QUEUE_TIMEOUT']);
const BUSY_RETRIES = 2;
/** The most of a failed answer's body a failure record carries. */
const MAX_ERROR_TEXT = 4096;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RuleRunnerDeps {
  invoke(inv: Invocation): Promise<Result>;
  publish(topic: string, payload: Buffer, qos: 0 | 1, contentType: string | undefined): Promise<void>;
  flavors: Flavors | undefined;
  maxPayloadBytes: number;
  stopping(): boolean;
  logger: Logger;
}

/** The `mqtt-topic` header: the topic, with anything outside printable ASCII percent-encoded (decodeURIComponent). */
export function topicHeader(topic: string): string {
  try {
    return encodeURI(topic);
  } catch {
    // a lone surrogate (not from a valid UTF-8 topic, but possible in a JavaScript string)
    return encodeURI(
      topic.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'),
    );
  }
}

function contentTypeOf(message: Message): string {
  const type = message.contentType;
  return type !== undefined && type !== '' && /^[\x20-\x7e]+$/.test(type) ? type : 'application/octet-stream';
}

function header(result: Result, name: string): string | undefined {
  return result.headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** Skiff's own failure record (JSON), for functions whose flavor has none. */
export function failureRecord(failure: MqttFailure): Buffer {
  return Buffer.from(
    JSON.stringify({
      error: {
        code: failure.error.code,
        message: failure.error.message,
        ...(failure.error.status === undefined ? {} : { status: failure.error.status }),
      },
      function: failure.function,
      invocationId: failure.invocationId,
      attempts: failure.attempts,
      topic: failure.topic,
      qos: failure.qos,
      payload: failure.payload.toString('base64'),
      receivedAt: new Date(failure.receivedAt).toISOString(),
    }),
  );
}

/** What one attempt came to: a result to pass on, a failure (a user's, or the platform's), or the stop. */
type Attempt = { result: Result } | { failed: MqttFailure['error']; userError: boolean } | 'keep';

export function createRuleRunner(
  deps: RuleRunnerDeps,
): (rule: BoundRule, message: Message) => Promise<Outcome> {
  const { logger } = deps;

  const attempt = async (inv: Invocation): Promise<Attempt> => {
    for (let busy = 0; ; busy++) {
      try {
        const result = await deps.invoke(inv);
        if (result.status < 500) return { result };
        const text = result.body.subarray(0, MAX_ERROR_TEXT).toString('utf8');
        return {
          userError: true,
          failed: {
            code: 'SKIFF_E_FUNCTION_ERROR',
            message: text === '' ? `the function answered ${result.status}` : text,
            status: result.status,
          },
        };
      } catch (err) {
        const error = toSkiffError(err);
        // the platform is stopping: the message stays in the session and comes again at the next start
        if (error.code === 'SKIFF_E_SHUTTING_DOWN') return 'keep';
        if (BUSY.has(error.code) && busy < BUSY_RETRIES && !deps.stopping()) {
          await sleep((error.retryAfterSec ?? 1) * 1000);
          continue;
        }
        return { failed: { code: error.code, message: error.message }, userError: error.isUserError };
      }
    }
  };

  const publish = async (
    topic: string,
    payload: Buffer,
    qos: 0 | 1,
    contentType: string | undefined,
    where: object,
  ): Promise<void> => {
    if (payload.length > deps.maxPayloadBytes) {
      logger.warn(
        { ...where, bytes: payload.length, maxPayloadBytes: deps.maxPayloadBytes },
        'the result is over mqtt.maxPayloadBytes; nothing published',
      );
      return;
    }
    try {
      await deps.publish(topic, payload, qos, contentType);
    } catch (err) {
      logger.error({ ...where, publish: topic, err: (err as Error).message }, 'publishing the result failed');
    }
  };

  return async (rule, message) => {
    const headers: HeaderPairs = [
      ['mqtt-topic', topicHeader(message.topic)],
      ['mqtt-qos', String(message.qos)],
      ['content-type', contentTypeOf(message)],
      ...(message.traceHeaders ?? []),
    ];
    const qos = message.qos === 1 && rule.publishQos === 1 ? 1 : 0;
    let last: { failed: MqttFailure['error']; userError: boolean; id: string } | undefined;
    /** Calls made (none for a message over the rule's size). */
    let made = 0;
    const limit = rule.maxPayloadBytes;
    const tooLarge = limit !== undefined && message.payload.length > limit;
    if (tooLarge) {
      last = {
        failed: {
          code: 'SKIFF_E_PAYLOAD_TOO_LARGE',
          message: `the message is ${message.payload.length} bytes, over the rule's maxPayloadBytes ${limit}`,
          limit,
        },
        userError: true,
        id: randomUUID(),
      };
    }
    for (let n = 1; n <= rule.attempts && !tooLarge; n++) {
      made = n;
      const inv: Invocation = {
        id: randomUUID(),
        function: rule.function,
        trigger: 'mqtt',
        method: 'POST',
        path: '/',
        query: '',
        headers,
        body: message.payload,
        deadline: 0,
        host: 'localhost',
      };
      const where = { fn: rule.function, topic: message.topic, invocationId: inv.id };
      const outcome = await attempt(inv);
      if (outcome === 'keep') return 'keep';
      if ('result' in outcome) {
        const { result } = outcome;
        if (result.status === 204 || result.body.length === 0) return 'ack'; // a filter: nothing to pass on
        if (result.status < 200 || result.status > 299) {
          logger.warn(
            { ...where, status: result.status },
            'the function answered an MQTT message with an error status; nothing published',
          );
          return 'ack';
        }
        if (rule.publish !== undefined) {
          await publish(rule.publish, result.body, qos, header(result, 'content-type'), where);
        }
        return 'ack';
      }
      last = { ...outcome, id: inv.id };
      if (n >= rule.attempts) break;
      // stopping with attempts left (the failure may be the stop's own): a QoS 1 message stays in the
      // session and is tried again at the next start, not recorded as failed after fewer attempts
      if (deps.stopping()) {
        if (message.qos === 1) return 'keep';
        break;
      }
      logger.info(
        { ...where, attempt: n, code: outcome.failed.code },
        'an MQTT message failed; trying again',
      );
    }
    if (last === undefined) return 'ack';
    const where = { fn: rule.function, topic: message.topic, invocationId: last.id };
    const level = last.userError ? 'warn' : 'error';
    logger[level]({ ...where, code: last.failed.code, err: last.failed.message }, 'an MQTT message failed');
    if (rule.onError !== 'publish' || rule.publish === undefined) return 'ack';
    const failure: MqttFailure = {
      function: rule.function,
      invocationId: last.id,
      topic: message.topic,
      qos: message.qos,
      retain: message.retain,
      packetId: message.packetId,
      payload: message.payload,
      receivedAt: message.receivedAt,
      attempts: made,
      error: last.failed,
    };
    let record: Buffer;
    try {
      record = deps.flavors?.get(rule.flavor)?.mqttFailure?.(failure) ?? failureRecord(failure);
    } catch (err) {
      logger.error({ ...where, err: (err as Error).message }, 'making the failure record failed');
      record = failureRecord(failure);
    }
    await publish(rule.publish, record, qos, 'application/json', where);
    return 'ack';
  };
}
