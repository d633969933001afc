/**
 * Routes of asynchronous invocations: their status and result, by id (with its place in the invocation
 * tree: parent, root and the casts it made), and a filtered list.
 */
import { asyncListView, asyncNotFound, asyncView } from '../invoke/async-views.js';
import type { z } from 'zod';
import { sendJson } from '../shared/http.js';
import type { QueueStore } from '../store/queue-store.js';
import type { Route } from './app.js';
import { invocationParams, invocationsQuery, parseRequest, queryObject } from './request-schemas.js';
import type { invocationListSchema, invocationResponseSchema } from './response-schemas.js';

/** The most children (casts made) one invocation's view lists. */
const MAX_CHILDREN = 1000;

export function invocationRoutes(store: QueueStore): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/invocations',
      handler: ({ res, query }) => {
        const filter = parseRequest(invocationsQuery, queryObject(query));
        const list = store.list(filter);
        sendJson(res, 200, { invocations: list.map(asyncListView) } satisfies z.output<
          typeof invocationListSchema
        >);
      },
    },
    {
      method: 'GET',
      path: '/v1/invocations/{id}',
      handler: ({ res, params }) => {
        const { id } = parseRequest(invocationParams, { id: params['id'] ?? '' });
        const record = store.get(id);
        if (record === undefined) throw asyncNotFound(id);
        const children = store.children(id, MAX_CHILDREN);
        const childrenCount = children.length < MAX_CHILDREN ? children.length : store.childrenCount(id);
        sendJson(res, 200, {
          invocation: { ...asyncView(record), children, childrenCount },
        } satisfies z.output<typeof invocationResponseSchema>);
      },
    },
  ];
}
