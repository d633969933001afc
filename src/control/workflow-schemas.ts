/**
 * What the workflow routes (`/v1/workflows`) take and answer, as zod schemas: the routes validate and
 * build their answers with these, and the OpenAPI document is generated from them (openapi-schemas.ts
 * registers the bodies, openapi-workflows.ts the paths).
 */
import { z } from 'zod';
import { functionNameSchema } from '../model/spec.js';
import { workflowNameSchema, workflowSpecSchema } from '../model/workflow.js';

const dateTime = z.iso.datetime();

export const workflowParams = z.object({ name: workflowNameSchema });

/** The body of `PUT /v1/workflows/{name}`: the spec; `name` may be left out (the path names it). */
export const workflowBodySchema = workflowSpecSchema.partial({ name: true }).meta({
  description:
    'A workflow spec. `name`, when given, must be the name in the path. Every function named must ' +
    'exist; a member must not be in another workflow.',
});

/** One workflow as stored: its spec, version and times. */
export const workflowSchema = z.object({
  name: workflowNameSchema,
  description: z.string().optional(),
  functions: workflowSpecSchema.shape.functions,
  version: z.number().int().min(1).meta({ description: '1 when created, plus 1 per apply.' }),
  createdAt: dateTime,
  updatedAt: dateTime,
});

/** A workflow as listed: its members, without their mappings. */
export const workflowSummarySchema = z.object({
  name: workflowNameSchema,
  description: z.string().optional(),
  members: z.array(functionNameSchema).meta({ description: 'The member functions, in spec order.' }),
  version: z.number().int().min(1),
  createdAt: dateTime,
  updatedAt: dateTime,
});

export const workflowResponseSchema = z.object({
  workflow: workflowSchema,
  warnings: z.array(z.string()).optional().meta({
    description: "For a file in another platform's format: what was accepted but looks unintended.",
  }),
});
export const workflowListSchema = z.object({ workflows: z.array(workflowSummarySchema) });
