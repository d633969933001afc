/**
 * Red team (issue 21, OTLP export): the endpoint in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is where an
 * operator may put the collector's credentials (`https://user:key@…`, `?api_key=…`); the start-up log
 * printed it whole. And an endpoint the OpenTelemetry exporter cannot parse made it fall back, silently,
 * to http://localhost:4318 (any local user can listen there), with the headers of
 * OTEL_EXPORTER_OTLP_HEADERS (the collector's API key), while the log named the bad value.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { channel } from 'node:diagnostics_channel';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVOCATION_SPAN_CHANNEL, type InvocationSpan } from '../../src/model/trace.js';
import { createLogger } from '../../src/shared/logger.js';
import { startTracing } from '../../src/shared/otlp-tracing.js';
import { waitFor } from '../helpers/wait.js';

function capturingLogger(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { logger: createLogger('info', stream), text: () => text };
}

describe('the OTLP endpoint', () => {
  let collector: Server;
  let port = 0;
  const received: { url: string; authorization: string | undefined }[] = [];
  beforeAll(async () => {
    collector = createServer((req: IncomingMessage, res) => {
      req.resume();
      req.on('end', () => {
        received.push({ url: req.url ?? '', authorization: req.headers.authorization });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    port = (collector.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

  it('is logged without its user, password or query, and is where the spans go', async () => {
    const { logger, text } = capturingLogger();
    const running = await startTracing(
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://tenant:pw-SECRET-1@127.0.0.1:${port}/v1/traces?api_key=SECRET-2`,
        OTEL_BSP_SCHEDULE_DELAY: '10',
      },
      logger,
    );
    expect(running).toBeDefined();
    const span: InvocationSpan = {
      function: 'fn',
      version: 1,
      trigger: 'http',
      invocationId: 'inv-1',
      trace: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', flags: 1 },
      startMs: Date.now() - 5,
      endMs: Date.now(),
      coldStart: false,
      status: 200,
    };
    channel(INVOCATION_SPAN_CHANNEL).publish(span);
    await waitFor('the span to reach the collector', () => received.length > 0 || undefined, 10_000);
    await running?.stop();
    expect(received[0]?.url).toBe('/v1/traces?api_key=SECRET-2');
    await waitFor(
      'the start-up line',
      () => text().includes('exporting invocation spans') || undefined,
      5_000,
    );
    expect(text()).not.toContain('SECRET');
    expect(text()).toContain(`127.0.0.1:${port}`);
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http//collector.internal:4318'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'collector.internal:4318/v1/traces'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'file:///var/run/collector'],
  ])(
    '%s %s turns the export off with a warning, instead of sending to localhost:4318',
    async (name, value) => {
      const { logger, text } = capturingLogger();
      const running = await startTracing(
        { [name]: value, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=KEY' },
        logger,
      );
      expect(running).toBeUndefined();
      expect(channel(INVOCATION_SPAN_CHANNEL).hasSubscribers).toBe(false);
      await waitFor('the warning', () => text().includes(name) || undefined, 5_000);
      expect(text()).toMatch(/not an http:\/\/ or https:\/\/ URL; spans are not exported/);
    },
  );
});
