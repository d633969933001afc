/**
 * The log routes' part of the OpenAPI document (openapi.ts spreads it into `paths`): a function's log
 * and every function's, as JSON or (`follow=true`) as a Server-Sent Events stream (logs.ts).
 */
import { functionParams, logsQuery, platformLogsQuery } from './request-schemas.js';
import { parameters, schemaRef, type SchemaName } from './openapi-schemas.js';

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` }) as const;
const json = (name: SchemaName) => ({ 'application/json': { schema: schemaRef(name) } }) as const;
const lastEventId = {
  name: 'Last-Event-ID',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'With follow: the id of the last event received; the stream resumes right after it.',
} as const;

/** The `follow=true` form of the log routes (docs/architecture.md, "Logs that follow"). */
const eventStream = (idForm: string) =>
  ({
    'text/event-stream': {
      schema: { type: 'string' },
      description:
        `With \`follow=true\`: Server-Sent Events. Each line is an event whose \`data\` is one log entry as JSON and whose \`id\` is ${idForm}; ` +
        'send it back as `Last-Event-ID` (or `lastEventId`) to resume with exactly the lines after it. `event: gap` says lines ' +
        'were missed (the id is older than the log kept), `event: end` ends the stream (`{"reason":"deleted"}` or ' +
        '`{"reason":"stopping"}`), a `: keep-alive` comment comes every 15 s.',
    },
  }) as const;

const errors = {
  '400': ref('BadRequest'),
  '401': ref('Unauthorized'),
  '429': ref('TooManyLogStreams'),
  '500': ref('Internal'),
} as const;

export const logPaths = {
  '/v1/functions/{name}/logs': {
    get: {
      operationId: 'getFunctionLogs',
      tags: ['functions'],
      summary: 'The last log lines of a function, or (follow=true) the stream of them',
      parameters: [...parameters('path', functionParams), ...parameters('query', logsQuery), lastEventId],
      responses: {
        '200': {
          description: 'Log entries, oldest first (build output, function output and platform lines).',
          content: {
            ...json('LogList'),
            ...eventStream("the byte offset of the line's end in the function's log"),
          },
        },
        ...errors,
        '404': ref('NotFound'),
      },
    },
  },
  '/v1/logs': {
    get: {
      operationId: 'getPlatformLogs',
      tags: ['functions'],
      summary:
        "Every function's last log lines, each naming its function, or (follow=true) the stream of them",
      parameters: [...parameters('query', platformLogsQuery), lastEventId],
      responses: {
        '200': {
          description: 'Log entries of every function, oldest first, each with `function`.',
          content: { ...json('PlatformLogList'), ...eventStream('`<function>:<offset>:<time in ms>`') },
        },
        ...errors,
      },
    },
  },
};
