/**
 * `POST /v1/backup`: a backup of the running platform's data directory, streamed as a tar.gz
 * (src/store/backup/create.ts; docs/operations.md). One at a time: a second ask while one is
 * made answers 409, so that no client can fill the disk with work folders.
 */
import { SkiffError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { removeStaleWork, writeBackup } from '../store/backup/create.js';
import type { Route } from './app.js';

export function backupRoutes(dataDir: string, logger: Logger): Route[] {
  // the work folders a backup cut short by a crash left (made at start: none runs yet)
  removeStaleWork(dataDir);
  let running = false;
  return [
    {
      method: 'POST',
      path: '/v1/backup',
      handler: async ({ res }) => {
        if (running)
          throw new SkiffError(
            'SKIFF_E_CONFLICT',
            'a backup is being made already; try again when it is done',
          );
        running = true;
        try {
          const manifest = await writeBackup(dataDir, res, (m) => {
            const stamp = m.createdAt.replace(/[:.]/g, '-');
            res.writeHead(200, {
              'content-type': 'application/gzip',
              'content-disposition': `attachment; filename="skiff-backup-${stamp}.tar.gz"`,
              'x-skiff-backup-schema': String(m.schema),
              'x-skiff-backup-files': String(m.files.length),
            });
          });
          logger.info({ files: manifest.files.length, skipped: manifest.skipped.length }, 'backup made');
        } catch (err) {
          if (!res.headersSent) throw err;
          // the archive was cut: the client sees a truncated body, never a complete-looking one
          logger.warn({ err }, 'backup failed while it was sent');
          res.destroy();
        } finally {
          running = false;
        }
      },
    },
  ];
}
