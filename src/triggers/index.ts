import { coap } from './coap.js';
import { cron } from './cron.js';
import { grpc } from './grpc.js';
import { mqtt } from './mqtt.js';
import type { TriggerAdapter } from './types.js';

export type { RunningTrigger, TriggerAdapter, TriggerContext } from './types.js';

/** Name → adapter of every trigger besides the HTTP gateway, started in this order. */
export const TRIGGERS: Record<'grpc' | 'coap' | 'mqtt' | 'cron', TriggerAdapter> = { grpc, coap, mqtt, cron };
