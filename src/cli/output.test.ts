import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import { parseErrorBody, skiffErrorFromBody } from './client.js';
import { formatLogLine } from './logs.js';
import {
  buildLogOf,
  errorJson,
  exitCodeFor,
  formatError,
  formatTime,
  lastLines,
  renderKeyValue,
  renderTable,
  startSpinner,
  withHint,
} from './output.js';

describe('renderTable', () => {
  it('pads columns to the widest cell and leaves no trailing spaces', () => {
    const table = renderTable(
      ['NAME', 'RUNTIME', 'VERSION'],
      [
        ['hello', 'node', '3'],
        ['image-resize', 'python', '12'],
      ],
    );
    expect(table).toBe(
      ['NAME          RUNTIME  VERSION', 'hello         node     3', 'image-resize  python   12'].join('\n'),
    );
  });

  it('prints only the header for no rows and tolerates short rows', () => {
    expect(renderTable(['A', 'B'], [])).toBe('A  B');
    expect(renderTable(['A', 'B', 'C'], [['x']])).toBe('A  B  C\nx');
  });
});

describe('renderKeyValue', () => {
  it('aligns the values', () => {
    expect(
      renderKeyValue([
        ['Name', 'hello'],
        ['Live version', '3'],
      ]),
    ).toBe('Name:          hello\nLive version:  3');
  });
});

describe('error template', () => {
  it('prints message, code and the default hint for the code', () => {
    const err = new SkiffError(
      'SKIFF_E_CLI_UNREACHABLE',
      'cannot reach the Skiff platform at http://127.0.0.1:1',
    );
    expect(formatError(err)).toBe(
      [
        '✖ cannot reach the Skiff platform at http://127.0.0.1:1',
        '  code: SKIFF_E_CLI_UNREACHABLE',
        '  hint: start the platform with `skiff serve`, or set SKIFF_URL and SKIFF_TOKEN',
      ].join('\n'),
    );
  });

  it('prefers a hint attached to the error', () => {
    const err = withHint(
      new SkiffError('SKIFF_E_CLI_USAGE', "unknown command 'nope'"),
      'run `skiff fn --help`',
    );
    expect(formatError(err)).toBe(
      "✖ unknown command 'nope'\n  code: SKIFF_E_CLI_USAGE\n  hint: run `skiff fn --help`",
    );
    expect(exitCodeFor(err)).toBe(2);
  });

  it('leaves the hint line out when there is none', () => {
    const err = new SkiffError('SKIFF_E_METHOD_NOT_ALLOWED', 'method not allowed');
    expect(formatError(err)).toBe('✖ method not allowed\n  code: SKIFF_E_METHOD_NOT_ALLOWED');
    expect(exitCodeFor(err)).toBe(1);
  });

  it('has a JSON form with code, message and details', () => {
    const err = new SkiffError('SKIFF_E_BUILD_FAILED', 'build failed', {
      details: { buildLog: 'npm ERR!', version: 2 },
    });
    expect(JSON.parse(errorJson(err))).toEqual({
      error: {
        code: 'SKIFF_E_BUILD_FAILED',
        message: 'build failed',
        details: { buildLog: 'npm ERR!', version: 2 },
      },
    });
    expect(buildLogOf(err)).toEqual({ buildLog: 'npm ERR!', version: 2 });
    expect(JSON.parse(errorJson(new SkiffError('SKIFF_E_NOT_FOUND', 'nope')))).toEqual({
      error: { code: 'SKIFF_E_NOT_FOUND', message: 'nope' },
    });
  });
});

describe('error bodies from the platform', () => {
  it('keeps code, message and details', () => {
    const err = skiffErrorFromBody(
      JSON.stringify({
        error: { code: 'SKIFF_E_BUILD_FAILED', message: 'boom', details: { buildLog: 'x', version: 1 } },
      }),
    );
    expect(err?.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(err?.message).toBe('boom');
    expect(err?.details).toEqual({ buildLog: 'x', version: 1 });
  });

  it('maps unknown codes to SKIFF_E_INTERNAL but keeps the message', () => {
    const err = skiffErrorFromBody(
      JSON.stringify({ error: { code: 'SKIFF_E_FROM_THE_FUTURE', message: 'new' } }),
    );
    expect(err?.code).toBe('SKIFF_E_INTERNAL');
    expect(err?.message).toBe('new');
  });

  it('ignores bodies that are not Skiff errors', () => {
    expect(parseErrorBody('not json')).toBeUndefined();
    expect(parseErrorBody('{"error":"plain"}')).toBeUndefined();
    expect(parseErrorBody('{"error":{"code":"E_OTHER","message":"x"}}')).toBeUndefined();
  });
});

describe('small formatters', () => {
  it('formats times without milliseconds', () => {
    expect(formatTime('2024-05-01T12:00:03.456Z')).toBe('2024-05-01T12:00:03Z');
    expect(formatTime(null)).toBe('-');
    expect(formatTime('yesterday')).toBe('yesterday');
  });

  it('keeps the last lines of a log', () => {
    expect(lastLines('a\nb\nc\nd\n', 2)).toBe('c\nd');
    expect(lastLines('a', 20)).toBe('a');
  });

  it('formats log lines', () => {
    const base = { ts: '2024-05-01T12:00:03.000Z', level: 'info', message: 'hi\n' } as const;
    expect(formatLogLine({ ...base, stream: 'stdout', invocationId: '0123456789abcdef' })).toBe(
      '2024-05-01T12:00:03.000Z stdout [01234567] hi',
    );
    expect(formatLogLine({ ...base, stream: 'platform' })).toBe('2024-05-01T12:00:03.000Z platform hi');
  });
});

describe('spinner', () => {
  it('prints a single line when the stream is not a TTY', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let t = 0;
    const spinner = startSpinner('Deploying hello…', { stream, now: () => t });
    t = 1500;
    expect(spinner.stop()).toBe(1.5);
    expect(String((stream as unknown as PassThrough).read())).toBe('Deploying hello…\n');
  });

  it('draws frames with elapsed seconds on a TTY and clears the line at the end', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean };
    stream.isTTY = true;
    let t = 0;
    const spinner = startSpinner('Deploying hello…', { stream, now: () => t });
    t = 3200;
    spinner.stop();
    const out = String((stream as unknown as PassThrough).read());
    expect(out).toContain('⠋ Deploying hello… 0.0s');
    expect(out.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('prints nothing when disabled', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    startSpinner('x', { stream, enabled: false }).stop();
    expect((stream as unknown as PassThrough).read()).toBeNull();
  });
});
