/**
 * The fixed label values of the metrics: what an error code says about an invocation. A label value
 * never comes from a client, an instance or a build: only from these sets (and function names the
 * registry knows).
 */
import { SkiffError, type ErrorCode } from '../shared/errors.js';

export const TRIGGERS = ['http', 'async', 'grpc', 'coap', 'mqtt', 'cron', 'call', 'cast'] as const;
const TRIGGER_SET = new Set<string>(TRIGGERS);

/** A trigger kind from the fixed set, else `other`. */
export function triggerLabel(trigger: string): string {
  return TRIGGER_SET.has(trigger) ? trigger : 'other';
}

export type Outcome = 'ok' | 'error' | 'crashed' | 'timeout' | 'rejected' | 'cancelled';
export const OUTCOMES: readonly Outcome[] = ['ok', 'error', 'crashed', 'timeout', 'rejected', 'cancelled'];

export type RejectionReason =
  'platform_busy' | 'at_capacity' | 'queue_timeout' | 'crash_loop' | 'shutting_down';
export const REJECTION_REASONS: readonly RejectionReason[] = [
  'platform_busy',
  'at_capacity',
  'queue_timeout',
  'crash_loop',
  'shutting_down',
];

const OUTCOME_OF: Partial<Record<ErrorCode, Outcome>> = {
  SKIFF_E_INSTANCE_CRASHED: 'crashed',
  SKIFF_E_OUT_OF_MEMORY: 'crashed',
  SKIFF_E_INSTANCE_START_FAILED: 'crashed',
  SKIFF_E_START_TIMEOUT: 'crashed',
  SKIFF_E_TIMEOUT: 'timeout',
  SKIFF_E_TOO_MANY_REQUESTS: 'rejected',
  SKIFF_E_QUEUE_TIMEOUT: 'rejected',
  SKIFF_E_CRASH_LOOP: 'rejected',
  SKIFF_E_SHUTTING_DOWN: 'rejected',
  SKIFF_E_CANCELLED: 'cancelled',
};

const REASON_OF: Partial<Record<ErrorCode, RejectionReason>> = {
  SKIFF_E_TOO_MANY_REQUESTS: 'at_capacity',
  SKIFF_E_QUEUE_TIMEOUT: 'queue_timeout',
  SKIFF_E_CRASH_LOOP: 'crash_loop',
  SKIFF_E_SHUTTING_DOWN: 'shutting_down',
};

/** How an invocation ended, and why it was refused when it was (`platformBusy`: executor.maxInFlight). */
export function classify(
  error: unknown,
  platformBusy: boolean,
): { outcome: Outcome; reason: RejectionReason | undefined } {
  if (error === undefined) return { outcome: 'ok', reason: undefined };
  // read, not converted: toSkiffError would act on what it converts (a full disk's report)
  const code = error instanceof SkiffError ? error.code : undefined;
  const outcome = (code === undefined ? undefined : OUTCOME_OF[code]) ?? 'error';
  if (outcome !== 'rejected') return { outcome, reason: undefined };
  return {
    outcome,
    reason: platformBusy ? 'platform_busy' : code === undefined ? undefined : REASON_OF[code],
  };
}
