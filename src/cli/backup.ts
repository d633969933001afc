/**
 * `skiff backup <file>` (a running platform's data, through `POST /v1/backup`) and
 * `skiff restore <file> --data-dir <dir>` (into a data directory no platform runs on, on this
 * machine: there is no platform to ask). docs/operations.md says what a backup holds.
 */
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { SkiffError } from '../shared/errors.js';
import { humanSize } from '../shared/sizes.js';
import { errorFromResponse, SkiffClient } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson } from './output.js';

const MiB = 1024 * 1024;

export function registerBackup(program: Command): void {
  withExamples(
    program
      .command('backup')
      .description(
        "save a running platform's data (functions and their code, secrets, state, queue, workflows) to a tar.gz",
      )
      .argument('<file>', 'the archive to write (replaced if it exists)')
      .action((file: string, _opts: unknown, cmd: Command) => backup(file, cmd)),
    'skiff backup skiff-backup.tar.gz',
    'skiff backup /srv/backups/skiff-$(date +%F).tar.gz --url http://10.0.0.5:8081',
  );
  withExamples(
    program
      .command('restore')
      .description(
        'restore a backup into a data directory no platform runs on (then start `skiff serve` on it)',
      )
      .argument('<file>', 'an archive made by `skiff backup`')
      .option(
        '--force',
        'replace a data directory that is not empty (what is there moves to <dir>/backups/replaced-<time>/)',
      )
      .option('--max-size <MiB>', 'largest archive accepted, and a quarter of the unpacked size', '1024')
      .action((file: string, opts: { force?: boolean; maxSize: string }, cmd: Command) =>
        restore(file, opts, cmd),
      ),
    'skiff restore skiff-backup.tar.gz --data-dir /var/lib/skiff',
    'skiff restore skiff-backup.tar.gz --data-dir /var/lib/skiff --force',
  );
}

async function backup(file: string, cmd: Command): Promise<void> {
  const { json, target } = globalOptions(cmd);
  const client = new SkiffClient(target);
  const url = new URL(`${client.controlUrl()}/v1/backup`);
  const token = client.token();
  const res = await client.send(url, {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  if (!res.ok || res.body === null) throw errorFromResponse(res, await res.text(), url);
  const out = path.resolve(file);
  const partial = `${out}.partial`;
  let bytes = 0;
  try {
    // a fresh owner-only file: a `.partial` already there (left over, or planted in a shared folder:
    // a file readable by others, a link to elsewhere) is removed, never written through
    await rm(partial, { force: true });
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => (bytes += chunk.length));
    // a cut stream (the platform failed mid-way) rejects here, and leaves no archive behind
    await pipeline(body, createWriteStream(partial, { mode: 0o600, flags: 'wx' }));
    await rename(partial, out);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  const schema = Number(res.headers.get('x-skiff-backup-schema'));
  const files = Number(res.headers.get('x-skiff-backup-files'));
  if (json) printJson({ file: out, bytes, schema, files });
  else console.log(`✔ Wrote ${out} (${humanSize(bytes)}, ${files} files, data schema ${schema})`);
}

async function restore(
  file: string,
  opts: { force?: boolean; maxSize: string },
  cmd: Command,
): Promise<void> {
  const { json, dataDir } = globalOptions(cmd);
  if (dataDir === undefined) {
    throw usageError('name the data directory to restore into with --data-dir <dir>', 'skiff restore');
  }
  const maxMiB = Number(opts.maxSize);
  if (!Number.isSafeInteger(maxMiB) || maxMiB < 1) {
    throw usageError('--max-size is a whole number of MiB, at least 1', 'skiff restore');
  }
  await refuseRunning(path.resolve(dataDir));
  // loaded here: the stores and their schemas are no other command's
  const { restoreBackup } = await import('../store/backup/restore.js');
  const restored = await restoreBackup(path.resolve(file), dataDir, {
    force: opts.force === true,
    limits: { maxPackedBytes: maxMiB * MiB, maxUnpackedBytes: 4 * maxMiB * MiB },
  });
  const { manifest } = restored;
  if (json) {
    printJson({
      dataDir: restored.dataDir,
      schema: manifest.schema,
      skiffVersion: manifest.skiffVersion,
      createdAt: manifest.createdAt,
      files: manifest.files.length,
      replaced: restored.replaced ?? null,
    });
    return;
  }
  console.log(
    `✔ Restored ${manifest.files.length} files of the backup of ${manifest.createdAt} (Skiff ${manifest.skiffVersion}, data schema ${manifest.schema}) into ${restored.dataDir}`,
  );
  if (restored.replaced !== undefined) console.log(`  what was there is in ${restored.replaced}`);
  console.log(`  start it with: skiff serve --data-dir ${restored.dataDir}`);
}

/** A platform that answers on the data directory's control endpoint is not restored over. */
async function refuseRunning(dataDir: string): Promise<void> {
  let control: unknown;
  try {
    control = (
      JSON.parse(await readFile(path.join(dataDir, 'endpoints.json'), 'utf8')) as { control?: unknown }
    ).control;
  } catch {
    return; // never started, or not a data directory
  }
  if (typeof control !== 'string') return;
  const up = await fetch(`${control}/v1/health`, { signal: AbortSignal.timeout(2000) }).then(
    (res) => res.ok,
    () => false,
  );
  if (up) {
    throw new SkiffError(
      'SKIFF_E_CONFLICT',
      `a platform answers at ${control} on ${dataDir}: stop it before restoring into its data directory`,
    );
  }
}
