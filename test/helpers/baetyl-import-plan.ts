/**
 * What the unit tests of the Baetyl configuration import share (src/compat/baetyl/import-config*.test.ts):
 * the platform's facts, a plan of a configuration's text, the refusal's message.
 */
import { expect } from 'vitest';
import { planImport, type ImportInput, type PlatformFacts } from '../../src/compat/baetyl/import-config.js';
import { SkiffError } from '../../src/shared/errors.js';

export const FACTS: PlatformFacts = {
  maxInstancesCeiling: 20,
  maxTimeoutMs: 300_000,
  maxMessageBytes: 4_194_304,
  brokerUrl: 'mqtt://127.0.0.1:1883',
};

export const plan = (text: string, extra: Partial<ImportInput> = {}, facts: PlatformFacts = FACTS) =>
  planImport({ config: { name: 'service.yml', text }, ...extra }, facts);

/** A 1.0 configuration of one function `f` with more of its keys. */
export const fn1 = (body: string) =>
  `functions:\n  - name: f\n    service: s\n    handler: index.handler\n${body}`;

/** The refusal's message (fails the test when the import is accepted or fails otherwise). */
export function refusal(text: string, extra: Partial<ImportInput> = {}): string {
  try {
    plan(text, extra);
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).code).toBe('SKIFF_E_INVALID_SPEC');
    expect((err as SkiffError).status).toBe(400);
    return (err as SkiffError).message;
  }
  throw new Error('the import was accepted');
}
