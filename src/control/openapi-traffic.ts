/** The traffic split route's part of the OpenAPI document (openapi.ts spreads it into `paths`). */
import { functionParams } from './request-schemas.js';
import { parameters, schemaRef, type SchemaName } from './openapi-schemas.js';

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` }) as const;
const json = (name: SchemaName) => ({ 'application/json': { schema: schemaRef(name) } }) as const;

export const trafficPaths = {
  '/v1/functions/{name}/traffic': {
    put: {
      operationId: 'setTraffic',
      tags: ['functions'],
      summary: 'Split a function’s calls between versions, or give them all to one',
      description:
        'Two to four ready versions with whole percents that sum to 100: each invocation (every trigger) is ' +
        'served by one of them, drawn by its share. Every version is started first, as for a deploy. The ' +
        'largest share (the newest of equal ones) becomes the live version. One version at 100, or ' +
        '`{ "split": null }` (the live version), ends the split. A deploy or a rollback ends it too.',
      parameters: parameters('path', functionParams),
      requestBody: { required: true, content: json('TrafficRequest') },
      responses: {
        '200': { description: 'The live version and the split now.', content: json('TrafficResult') },
        '400': ref('BadRequest'),
        '401': ref('Unauthorized'),
        '404': ref('NotFound'),
        '500': ref('Internal'),
      },
    },
  },
};
