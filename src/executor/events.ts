import { EventEmitter } from 'node:events';
import type { Deployment } from '../model/deployment.js';

export interface InstanceEvent {
  /** Unset for a warm-pool process that has no function loaded yet. */
  deployment: Deployment | undefined;
  instanceId: string;
  pid: number | null;
}

export type ExecutorEventName =
  'spawn' | 'ready' | 'specialise' | 'evict' | 'exit' | 'crash' | 'timeout' | 'throttle';

/** The one place executor events are emitted, for logs now and metrics later. */
export class ExecutorEvents extends EventEmitter<Record<ExecutorEventName, [InstanceEvent]>> {}
