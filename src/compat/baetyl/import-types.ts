/** The shapes of a Baetyl configuration import (import-config.ts reads them, import-apply.ts deploys them). */
import type { MqttRule } from '../../model/spec.js';

/** `baetyl`: a 1.0 function manager's file; `openedge`: a 0.1.x module.yml. Also the functions' flavor. */
export type ImportFormat = 'baetyl' | 'openedge';

/** What the platform allows, for the checks that depend on it. */
export interface PlatformFacts {
  /** `functions.maxInstancesCeiling`: a larger `instance.max` is lowered to it, with a warning. */
  maxInstancesCeiling: number;
  /** `functions.maxTimeoutMs`: a longer `timeout` is cut to it when calls run, with a warning. */
  maxTimeoutMs: number;
  /** `compat.baetyl.maxMessageBytes`: the gRPC message limit of the platform. */
  maxMessageBytes: number;
  /** The MQTT broker Skiff's trigger uses (`mqtt.url`, else the embedded broker's URL). */
  brokerUrl: string | undefined;
}

export interface ConfigFile {
  /** Its name in messages (the path the client gave). */
  name: string;
  text: string;
}

export interface ImportInput {
  config: ConfigFile;
  /** 1.0: the runtime services' own files, whose `functions[]` give `handler` and `codedir`. */
  runtimeConfigs?: readonly ConfigFile[];
  /** Forced; else told from the keys. */
  format?: ImportFormat;
}

/** One function to deploy. */
export interface PlannedFunction {
  name: string;
  /** 1.0: the runtime service that ran it upstream. */
  service?: string;
  /** As written (`index.handler`); the flavor maps it onto Skiff's form. */
  handler: string;
  /** Its code folder, relative to the import's base folder ('' = the base itself), `/`-separated. */
  codedir: string;
  /** The runtime named by the configuration (`runtime`, or 0.1.x `entry`), when one is. */
  runtime?: 'python' | 'node';
  env: Record<string, string>;
  scaling: { minInstances: number; maxInstances: number; idleTimeoutMs: number; concurrency: 1 };
  timeoutMs: number;
  limits?: { memoryMb?: number; cpus?: number; pids?: number };
  /** `message.length.max`: its rules' `maxPayloadBytes`. */
  maxMessageBytes: number;
  mqtt: MqttRule[];
}

export interface ImportHub {
  address: string;
  /** Whether it is Skiff's own broker (same host and port; loopback names count as one). */
  sameAsSkiff: boolean;
}

export interface ImportPlan {
  format: ImportFormat;
  functions: PlannedFunction[];
  /** 1.0: runtime service → the functions it served (for the v2 proxy's service table). */
  services: Record<string, string[]>;
  hub?: ImportHub;
  warnings: string[];
}
