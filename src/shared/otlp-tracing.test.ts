import { channel } from 'node:diagnostics_channel';
import { describe, expect, it, vi } from 'vitest';
import { INVOCATION_SPAN_CHANNEL, type InvocationSpan } from '../model/trace.js';
import { createLogger } from './logger.js';
import { otlpChoice } from './otlp-settings.js';
import { startTracing, type SinkFactory } from './otlp-tracing.js';

const logger = createLogger('silent');

/** A factory that counts its calls: the one seam between the choice and the SDK module. */
function counting(): { factory: SinkFactory; calls: number; spans: InvocationSpan[] } {
  const state = { calls: 0, spans: [] as InvocationSpan[], factory: undefined as unknown as SinkFactory };
  state.factory = async () => {
    state.calls++;
    return { record: (s) => void state.spans.push(s), shutdown: async () => undefined };
  };
  return state;
}

describe('the OTLP export is off by default', () => {
  it.each([
    ['no variable', {}],
    ['OTEL_SDK_DISABLED', { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }],
    ['exporter none', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318' }],
    ['another exporter only', { OTEL_TRACES_EXPORTER: 'zipkin' }],
    ['a service name alone', { OTEL_SERVICE_NAME: 'svc' }],
  ])('loads no SDK and subscribes nothing with %s', async (_, env) => {
    const c = counting();
    const running = await startTracing(env, logger, c.factory);
    expect(running).toBeUndefined();
    expect(c.calls).toBe(0);
    // the executor checks this one boolean on every invocation
    expect(channel(INVOCATION_SPAN_CHANNEL).hasSubscribers).toBe(false);
  });

  it('turns on for OTEL_TRACES_EXPORTER=otlp or an endpoint, and off again at stop', async () => {
    for (const env of [
      { OTEL_TRACES_EXPORTER: 'otlp' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' },
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' },
    ]) {
      const c = counting();
      const running = await startTracing(env, logger, c.factory);
      expect(c.calls).toBe(1);
      expect(channel(INVOCATION_SPAN_CHANNEL).hasSubscribers).toBe(true);
      await running?.stop();
      expect(channel(INVOCATION_SPAN_CHANNEL).hasSubscribers).toBe(false);
    }
  });
});

describe('the stop', () => {
  it('waits at most 5 s for a collector that does not answer', async () => {
    vi.useFakeTimers();
    try {
      const running = await startTracing({ OTEL_TRACES_EXPORTER: 'otlp' }, logger, async () => ({
        record: () => undefined,
        shutdown: () => new Promise<void>(() => undefined),
      }));
      let done = false;
      const stopping = running?.stop().then(() => (done = true));
      await vi.advanceTimersByTimeAsync(4_900);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(200);
      await stopping;
      expect(done).toBe(true);
      expect(channel(INVOCATION_SPAN_CHANNEL).hasSubscribers).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('OTEL_* variables', () => {
  it('reads the service name, endpoint, sampler and batch settings; warns of what it does not honour', () => {
    const choice = otlpChoice({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_SERVICE_NAME: 'edge-1',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BSP_MAX_QUEUE_SIZE: '99999999',
      OTEL_BSP_EXPORT_TIMEOUT: 'soon',
    });
    expect(choice.enabled).toBe(true);
    if (!choice.enabled) return;
    expect(choice.settings).toEqual({
      serviceName: 'edge-1',
      sampler: 'parentbased_traceidratio',
      ratio: 0.25,
      endpoint: 'http://collector:4318/v1/traces',
      protocol: 'http/json',
      batch: { scheduledDelayMillis: 100, maxQueueSize: 65_536 },
    });
    expect(choice.warnings.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL grpc/);
    expect(choice.warnings.join('\n')).toMatch(/OTEL_BSP_EXPORT_TIMEOUT/);
  });

  it('defaults to service skiff, parentbased_always_on and the standard endpoint', () => {
    const choice = otlpChoice({ OTEL_TRACES_EXPORTER: 'otlp' });
    expect(choice).toMatchObject({
      enabled: true,
      settings: {
        serviceName: 'skiff',
        sampler: 'parentbased_always_on',
        endpoint: 'http://localhost:4318/v1/traces',
        protocol: 'http/json',
      },
    });
    const protobuf = otlpChoice({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    });
    expect(protobuf).toMatchObject({ enabled: true, settings: { protocol: 'http/protobuf' }, warnings: [] });
  });
});
