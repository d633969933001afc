/**
 * Red team (issue 21, OTLP export): a collector that refuses every batch (or is down) lost every span
 * without a word in Skiff's log: the SDK reports export failures to OpenTelemetry's own diagnostics
 * logger, which Skiff never wired and which logs nothing. The failures are logged now, the first at
 * once and then at most one line a minute, so that a collector failing every batch cannot flood the
 * platform's log either.
 */
import { channel } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVOCATION_SPAN_CHANNEL, type InvocationSpan } from '../../src/model/trace.js';
import { createLogger } from '../../src/shared/logger.js';
import { startTracing } from '../../src/shared/otlp-tracing.js';
import { newSpanId, newTraceId } from '../../src/shared/trace-context.js';
import { waitFor } from '../helpers/wait.js';

function span(): InvocationSpan {
  return {
    function: 'fn',
    version: 1,
    trigger: 'http',
    invocationId: 'inv',
    trace: { traceId: newTraceId(), spanId: newSpanId(), flags: 1 },
    startMs: Date.now() - 1,
    endMs: Date.now(),
    coldStart: false,
    status: 200,
  };
}

describe('a collector that refuses every batch', () => {
  let collector: Server;
  let port = 0;
  let batches = 0;
  beforeAll(async () => {
    collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        batches++;
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"refused"}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    port = (collector.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

  it('is reported in the log, once, not once a batch', async () => {
    const stream = new PassThrough();
    const lines: { msg?: string; problem?: string }[] = [];
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''))
        lines.push(JSON.parse(line) as { msg?: string });
    });
    const running = await startTracing(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: '10',
      },
      createLogger('info', stream),
    );
    const failures = () => lines.filter((l) => l.msg === 'the OTLP export of spans failed');
    try {
      for (let batch = 0; batch < 3; batch++) {
        const before = batches;
        channel(INVOCATION_SPAN_CHANNEL).publish(span());
        await waitFor('the collector to refuse a batch', () => batches > before || undefined, 10_000);
        await waitFor('the failure to be reported', () => failures().length > 0 || undefined, 5_000);
      }
    } finally {
      await running?.stop();
    }
    expect(failures()).toHaveLength(1);
  });
});
