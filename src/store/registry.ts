import type { FunctionSpec } from '../model/spec.js';
import type { ScalingInput } from '../model/scaling.js';

export type VersionStatus = 'ready' | 'failed';

export interface VersionRecord {
  function: string;
  version: number;
  hash: string;
  status: VersionStatus;
  spec: FunctionSpec;
  /** Entry file relative to the version's code folder, after the build. */
  entry: string;
  buildLog: string;
  buildMs: number;
  createdAt: string;
}

/** A version as listed: everything but its build log (which only the version's own view carries). */
export type VersionInfo = Omit<VersionRecord, 'buildLog'>;

export interface FunctionRecord {
  name: string;
  liveVersion: number | null;
  createdAt: string;
  updatedAt: string;
}

/** A secret of a function as listed: never its value. */
export interface SecretInfo {
  name: string;
  updatedAt: string;
}

/** One version's share of a function's calls (`skiff fn traffic`). */
export interface TrafficShare {
  version: number;
  /** Whole percent, 1 to 100; the shares of a split sum to 100. */
  percent: number;
}

export type NewVersion = Omit<VersionRecord, 'version' | 'createdAt' | 'function'>;

/** The registry of functions and their immutable versions. Embedded: SQLite; later: a distributed KV. */
export interface Registry {
  listFunctions(): FunctionRecord[];
  getFunction(name: string): FunctionRecord | undefined;
  /** The versions of a function, oldest first, without their build logs. */
  listVersions(name: string): VersionInfo[];
  getVersion(name: string, version: number): VersionRecord | undefined;
  /** The live version of every function that has one (its build log aside), by function name. */
  liveVersions(): VersionInfo[];
  /** Deletes the listed versions of a function (never its live one nor one of its split); returns how many went. */
  deleteVersions(name: string, versions: number[]): number;
  /** Reserves the next version number of `name` (creating the function row if needed). */
  nextVersion(name: string): number;
  /** Records a version; when it is ready and `live` is set, it becomes the live version atomically. */
  addVersion(name: string, version: number, record: NewVersion, live: boolean): VersionRecord;
  /**
   * Makes a ready version of the function live (a rollback); false when there is no such ready version.
   * A new live version (this, or `addVersion` with `live`) clears the function's traffic split.
   */
  setLiveVersion(name: string, version: number): boolean;
  /** The function's traffic split (two versions or more), or null when its live version takes every call. */
  getTraffic(name: string): TrafficShare[] | null;
  /**
   * Makes `live` the live version and `split` (null: none) the function's split, atomically; false
   * when a version of it is not a ready version of the function.
   */
  setTraffic(name: string, live: number, split: TrafficShare[] | null): boolean;
  deleteFunction(name: string): boolean;
  /** Names and change times of a function's secrets, by name; never the values. */
  listSecrets(name: string): SecretInfo[];
  /** Name → value of every secret of a function (for the instances only). */
  secretValues(name: string): Record<string, string>;
  /** Creates or replaces a secret of an existing function. */
  setSecret(name: string, secret: string, value: string): void;
  /** Deletes a secret; false when there was none. */
  deleteSecret(name: string, secret: string): boolean;
  /** The function's scaling override (`skiff fn scale`), which wins over every version's spec. */
  getScaling(name: string): ScalingInput | null;
  /** Replaces the override of an existing function; null removes it. */
  setScaling(name: string, settings: ScalingInput | null): void;
  /**
   * The function's application id (private functions' tokens name it): undefined until a token is
   * first made for it; kept across deploys, gone with the function (a function made again gets another).
   */
  applicationId(name: string): string | undefined;
  /** The application id of an existing function, made now if it has none. */
  ensureApplicationId(name: string): string;
  /** Gives an existing function a new application id: every token that named the old one stops working. */
  rotateApplicationId(name: string): string;
  close(): void;
}
