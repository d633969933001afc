/** The backup route's part of the OpenAPI document (openapi.ts spreads it into `paths`). */
import { schemaRef } from './openapi-schemas.js';

const error = (description: string) =>
  ({ description, content: { 'application/json': { schema: schemaRef('Error') } } }) as const;

export const backupPaths = {
  '/v1/backup': {
    post: {
      operationId: 'createBackup',
      tags: ['meta'],
      summary: 'A backup of the platform’s data, streamed as a tar.gz (`skiff backup <file>`)',
      description:
        'Every database (registry, secrets, state, queue, workflows) copied with SQLite’s online backup while ' +
        'the platform runs, the versions’ code, the admin token and the private functions’ key, with a manifest ' +
        '`skiff-backup.json` (schema version, Skiff version, time, each file with its size and sha256). Logs are ' +
        'not in it. `skiff restore <file> --data-dir <dir>` restores it into a stopped data directory. One backup ' +
        'at a time. A failure after the first bytes cuts the stream (the archive is then incomplete).',
      responses: {
        '200': {
          description: 'The archive; `X-Skiff-Backup-Schema` is its schema version.',
          content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } },
        },
        '401': error('SKIFF_E_UNAUTHORIZED: missing or wrong bearer token.'),
        '409': error('SKIFF_E_CONFLICT: a backup is being made already.'),
        '500': error('SKIFF_E_INTERNAL (see the platform log) or SKIFF_E_DISK_FULL.'),
      },
    },
  },
};
