/** The shape of one benchmark run's results, as written to `bench/results/<timestamp>.json`. */
import type { MachineInfo, Versions } from '../lib/machine.js';
import type { ColdStartResult } from '../suites/coldstart.js';
import type { CompositionResult } from '../suites/composition.js';
import type { MemoryResult } from '../suites/memory.js';
import type { ProfileResult } from '../suites/profile.js';
import type { ScaleResult } from '../suites/scale.js';
import type { ThroughputResult } from '../suites/throughput.js';

export type Outcome<T> =
  { ok: true; seconds: number; result: T } | { ok: false; seconds: number; error: string };

export interface Results {
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: MachineInfo;
  loadAtEnd: number[];
  versions: Versions;
  throughput: Outcome<ThroughputResult>;
  coldStart: Outcome<ColdStartResult>;
  memory: Outcome<MemoryResult>;
  scale: Outcome<ScaleResult>;
  /** Absent in runs from before the suite existed. */
  composition?: Outcome<CompositionResult>;
  /** Absent in runs from before the suite existed. */
  profile?: Outcome<ProfileResult>;
}
