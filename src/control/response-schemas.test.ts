import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { LogEntry } from '../model/log-record.js';
import type { FunctionSpec } from '../model/spec.js';
import { ERROR_CODES, SkiffError, type ErrorCode } from '../shared/errors.js';
import type { SecretInfo } from '../store/registry.js';
import {
  errorSchema,
  type functionSpecSchema,
  type logEntrySchema,
  type secretListSchema,
} from './response-schemas.js';

describe('response schemas', () => {
  it('accept the error body of every code and refuse an unknown code', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const body = new SkiffError(code, 'm', { details: { version: 1 } }).toBody();
      expect(errorSchema.safeParse(body).success, code).toBe(true);
    }
    expect(errorSchema.safeParse({ error: { code: 'SKIFF_E_NOPE', message: 'm' } }).success).toBe(false);
  });
});

// Response schemas and the TypeScript types of what is stored: assignable both ways (checked by tsc).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** zod writes an optional field as `?: T | undefined`; the stored types, under exactOptionalPropertyTypes, as `?: T`. */
type Exact<T> = T extends readonly unknown[]
  ? { [K in keyof T]: Exact<T[K]> }
  : T extends object
    ? { [K in keyof T]: Exact<Exclude<T[K], undefined>> }
    : T;
export const typesMatch: [
  Same<Exact<z.output<typeof functionSpecSchema>>, Exact<FunctionSpec>>,
  Same<Exact<z.output<typeof logEntrySchema>>, Exact<LogEntry>>,
  Same<z.output<typeof secretListSchema>['secrets'][number], SecretInfo>,
] = [true, true, true];
