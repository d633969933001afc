import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SkiffError } from './errors.js';
import { FailureLog } from './failure-log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, sink) };
}

describe('FailureLog', () => {
  it('logs a flood of platform refusals as one warning per code per 10 s, without a stack', async () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = new FailureLog(logger, () => now);
    const full = new SkiffError('SKIFF_E_QUEUE_FULL', 'the async queue is full');
    for (let i = 0; i < 1000; i++) log.failed(full, full, { invocationId: String(i) }, 'invocation failed');
    now = 10_001;
    log.failed(full, full, {}, 'invocation failed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 40, code: 'SKIFF_E_QUEUE_FULL' });
    expect(lines[0]).not.toHaveProperty('err');
    expect(lines[1]).toMatchObject({ suppressedSinceLast: 999 });
  });

  it('logs user errors at debug and only internal faults at error, with the cause', async () => {
    const { lines, logger } = capture();
    const log = new FailureLog(logger);
    log.failed(new SkiffError('SKIFF_E_INVALID_REQUEST', 'bad'), undefined, {}, 'x');
    log.failed(new SkiffError('SKIFF_E_INTERNAL', 'boom'), new Error('cause'), {}, 'x');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => l['level'])).toEqual([20, 50]);
    expect(lines[1]).toHaveProperty('err');
  });
});
