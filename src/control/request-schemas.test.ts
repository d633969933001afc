import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { SkiffError } from '../shared/errors.js';
import {
  invocationsQuery,
  logsQuery,
  parseRequest,
  queryObject,
  secretBodySchema,
  secretParams,
  versionParams,
} from './request-schemas.js';

/** The message of the SkiffError a parse throws (or undefined when it passes). */
function refusal(schema: z.ZodType, raw: unknown): string | undefined {
  try {
    parseRequest(schema, raw);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).code).toBe('SKIFF_E_INVALID_REQUEST');
    return (err as SkiffError).message;
  }
}

describe('request schemas', () => {
  it('read the limit of a query as the routes always did (Number(), whole, 1 to 10000, default 100)', () => {
    const limit = (value?: string) =>
      parseRequest(logsQuery, queryObject(new URLSearchParams(value === undefined ? '' : `limit=${value}`)))
        .limit;
    expect(limit()).toBe(100);
    expect(limit('5')).toBe(5);
    expect(limit('1e2')).toBe(100);
    for (const bad of ['', 'x', '1.5', '0', '10001', '-1']) {
      expect(refusal(logsQuery, { limit: bad }), bad).toBe('limit must be a whole number from 1 to 10000');
    }
  });

  it('checks the status of the invocation list before its limit, and takes the first of a repeated parameter', () => {
    expect(refusal(invocationsQuery, { status: 'done', limit: '0' })).toBe(
      'status must be one of queued, running, succeeded, failed, expired',
    );
    const query = queryObject(new URLSearchParams('status=failed&status=x&function=f'));
    expect(parseRequest(invocationsQuery, query)).toEqual({ status: 'failed', function: 'f', limit: 100 });
  });

  it('refuses a secret name or body with the message that names the fix, never the value', () => {
    expect(refusal(secretParams.shape.secret, '1BAD')).toMatch(/^invalid secret name "1BAD": use letters/);
    expect(refusal(secretParams.shape.secret, 'A'.repeat(256))).toContain('at most 255 characters');
    expect(refusal(secretBodySchema, 'text')).toBe(
      'send the secret as a JSON body { "value": "<the secret>" } with a string value',
    );
    expect(refusal(secretBodySchema, { value: 42, other: 1 })).toBe(
      'unknown field "other" in the body; send only { "value": "..." }',
    );
    expect(refusal(secretBodySchema, { value: 42 })).toContain('string field "value"');
    // 'é' is two bytes: 32769 of them are within the character count but over 64 KiB
    expect(refusal(secretBodySchema, { value: 'é'.repeat(32 * 1024 + 1) })).toContain('64 KiB');
    expect(refusal(secretBodySchema, { value: 'é'.repeat(32 * 1024) })).toBeUndefined();
    const nul = refusal(secretBodySchema, { value: 'hidden\0value' });
    expect(nul).toContain('NUL');
    expect(nul).not.toContain('hidden');
  });

  it('takes a version number as the route did (a whole number from 1)', () => {
    const version = versionParams.shape.version;
    expect(version.safeParse('3').data).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'x', '', '9007199254740993']) {
      expect(version.safeParse(bad).success, bad).toBe(false);
    }
  });
});
