import { EventEmitter } from 'node:events';
import type { Deployment } from './deployment.js';

export interface InstanceEvent {
  deployment: Deployment;
  instanceId: string;
  pid: number | null;
}

export type ExecutorEventName = 'spawn' | 'ready' | 'exit' | 'crash' | 'timeout' | 'evict';

/** The one place executor events are emitted, for logs now and metrics later. */
export class ExecutorEvents extends EventEmitter<Record<ExecutorEventName, [InstanceEvent]>> {}
