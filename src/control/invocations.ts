/** Routes of asynchronous invocations: their status and result, by id, and a filtered list. */
import { asyncNotFound, asyncView } from '../invoke/async-queue.js';
import { SkiffError } from '../shared/errors.js';
import { sendJson } from '../shared/http.js';
import type { AsyncStatus, QueueStore } from '../store/queue-store.js';
import type { Route } from './app.js';

const STATUSES: AsyncStatus[] = ['queued', 'running', 'succeeded', 'failed', 'expired'];

export function invocationRoutes(store: QueueStore): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/invocations',
      handler: ({ res, query }) => {
        const status = query.get('status') ?? undefined;
        if (status !== undefined && !(STATUSES as string[]).includes(status)) {
          throw new SkiffError('SKIFF_E_INVALID_REQUEST', `status must be one of ${STATUSES.join(', ')}`);
        }
        const limit = Number(query.get('limit') ?? 100);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
          throw new SkiffError('SKIFF_E_INVALID_REQUEST', 'limit must be a whole number from 1 to 10000');
        }
        const list = store.list({
          function: query.get('function') ?? undefined,
          status: status as AsyncStatus | undefined,
          limit,
        });
        sendJson(res, 200, { invocations: list.map(asyncView) });
      },
    },
    {
      method: 'GET',
      path: '/v1/invocations/{id}',
      handler: ({ res, params }) => {
        const id = params['id'] ?? '';
        const record = store.get(id);
        if (record === undefined) throw asyncNotFound(id);
        sendJson(res, 200, { invocation: asyncView(record) });
      },
    },
  ];
}
