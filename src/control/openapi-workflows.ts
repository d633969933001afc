/**
 * The workflow routes' part of the OpenAPI document (openapi.ts spreads it into `paths`): apply, get,
 * list and delete workflows.
 */
import { workflowParams } from './workflow-schemas.js';
import { parameters, schemaRef, type SchemaName } from './openapi-schemas.js';

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` }) as const;
const answer = (description: string, name: SchemaName) =>
  ({ description, content: { 'application/json': { schema: schemaRef(name) } } }) as const;

const tags = ['workflows'];
const nameParameters = parameters('path', workflowParams);
const errors = {
  '400': ref('WorkflowBadRequest'),
  '401': ref('Unauthorized'),
  '404': ref('WorkflowNotFound'),
  '500': ref('Internal'),
} as const;

export const workflowTag = {
  name: 'workflows',
  description:
    'Workflows map the output aliases of member functions to target functions: a `ctx.cast` to an alias ' +
    'goes to the functions its workflow names (none, one or several). A function is in one workflow at ' +
    'most; a change applies to the next cast, without a restart.',
};

export const workflowPaths = {
  '/v1/workflows': {
    get: {
      operationId: 'listWorkflows',
      tags,
      summary: 'List workflows with their members',
      responses: {
        '200': answer('Every workflow, by name.', 'WorkflowList'),
        '401': ref('Unauthorized'),
        '500': ref('Internal'),
      },
    },
  },
  '/v1/workflows/{name}': {
    put: {
      operationId: 'applyWorkflow',
      tags,
      summary: 'Create or replace a workflow',
      description:
        'Validates the spec (fields, caps, every function deployed, no member in another workflow), stores ' +
        'it and makes it the mapping of the next cast of each member.',
      parameters: nameParameters,
      requestBody: { required: true, content: { 'application/json': { schema: schemaRef('WorkflowBody') } } },
      responses: {
        '200': answer('Replaced.', 'WorkflowResponse'),
        '201': answer('Created, at version 1.', 'WorkflowResponse'),
        '400': ref('WorkflowBadRequest'),
        '401': ref('Unauthorized'),
        '409': ref('WorkflowConflict'),
        '413': ref('WorkflowTooLarge'),
        '415': ref('UnsupportedMediaType'),
        '500': ref('Internal'),
      },
    },
    get: {
      operationId: 'getWorkflow',
      tags,
      summary: 'One workflow with its mappings',
      parameters: nameParameters,
      responses: { '200': answer('The workflow.', 'WorkflowResponse'), ...errors },
    },
    delete: {
      operationId: 'deleteWorkflow',
      tags,
      summary: 'Delete a workflow: its members cast to plain function names again',
      parameters: nameParameters,
      responses: { '204': { description: 'Deleted.' }, ...errors },
    },
  },
} as const;
