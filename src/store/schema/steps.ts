/**
 * The data directory's migration steps, in order: step i takes a data directory from schema version
 * i to i + 1 (src/store/schema/migrate.ts runs them at start, after a backup). A data directory made
 * before schema versions existed (release 0.1.0, no VERSION.json) is version 0.
 *
 * Adding a step is one line appended to MIGRATIONS (and the column in the store's CREATE TABLE, which
 * is what a fresh data directory gets: a fresh one is stamped with the newest version, no step runs):
 *
 *   (db) => db.addColumn('queue.db', 'invocations', 'trace_id', 'TEXT'),
 *
 * A step must be safe to run again on a data directory it already changed (a crash between a step
 * and the VERSION.json write runs it once more): `addColumn` and `exec` of `IF NOT EXISTS` are.
 */
import { migrate as migrateQueue } from '../queue-schema.js';
import type { Step } from './step.js';

/** 0 → 1: the columns and indexes the queue added at every start before versions existed, once. */
const queueColumns: Step = (db) => db.withDatabase('queue.db', (handle) => migrateQueue(handle));

/** 1 → 2: invocation records keep their trace context (`trace`, the JSON of a QueuedTrace). */
const traceContext: Step = (db) => db.addColumn('queue.db', 'invocations', 'trace', 'TEXT');

export const MIGRATIONS: readonly Step[] = [queueColumns, traceContext];

/** The schema version this Skiff writes and reads: the number of steps. */
export const SCHEMA_VERSION = MIGRATIONS.length;
