import type { TriggerAdapter } from './types.js';

/** The grpc trigger (issue 7): not built yet, so it starts nothing. */
export const grpc: TriggerAdapter = {
  enabled: () => false,
  start: () => Promise.resolve({ stop: () => Promise.resolve() }),
};
