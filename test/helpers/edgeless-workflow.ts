/**
 * Shared by the EDGELESS workflow JSON unit tests (src/compat/edgeless/workflow-json*.test.ts): the
 * options of one node, the contract's example workflow, accessors into it and the refusal helpers.
 */
import { expect } from 'vitest';
import {
  planEdgelessWorkflow,
  type NodeDescription,
  type WorkflowJsonOptions,
} from '../../src/compat/edgeless/workflow-json.js';
import { SkiffError } from '../../src/shared/errors.js';

export const LOG_DIR = '/var/lib/skiff/edgeless-logs';
export const NODE: NodeDescription = {
  id: '8a7f2c3e-1b4d-4e5f-9a6b-7c8d9e0f1a2b',
  labels: ['edge', 'camera'],
  resources: ['file-log-1'],
  tee: false,
  tpm: true,
};
export const OPTIONS: WorkflowJsonOptions = { ociRunner: false, fileLogDir: LOG_DIR, node: NODE };

/** The workflow of the compatibility contract: one attached function feeding a file-log. */
export function doubler(): Record<string, unknown> {
  return {
    functions: [
      {
        name: 'doubler',
        class_specification: {
          id: 'doubler',
          function_type: 'CONTAINER',
          version: '1.0',
          code: 'grpc:http://127.0.0.1:7101',
          outputs: ['out'],
        },
        output_mapping: { out: 'audit' },
        annotations: { 'init-payload': 'factor=2' },
      },
    ],
    resources: [
      {
        name: 'audit',
        class_type: 'file-log',
        output_mapping: {},
        configurations: { filename: 'audit.log', 'add-timestamp': 'true' },
      },
    ],
    annotations: {},
  };
}

export type Doc = ReturnType<typeof doubler>;
type Obj = Record<string, unknown>;
export const fn = (doc: Doc, i = 0): Obj => (doc['functions'] as Obj[])[i]!;
export const cls = (doc: Doc, i = 0): Obj => fn(doc, i)['class_specification'] as Obj;
export const res = (doc: Doc, i = 0): Obj => (doc['resources'] as Obj[])[i]!;

export function refusal(value: unknown, options: WorkflowJsonOptions = OPTIONS): SkiffError {
  try {
    planEdgelessWorkflow(value, options);
  } catch (err) {
    if (err instanceof SkiffError) return err;
    throw err;
  }
  throw new Error('the workflow was accepted');
}

/** The message of a refusal; it is always SKIFF_E_INVALID_SPEC. */
export function refused(value: unknown, options: WorkflowJsonOptions = OPTIONS): string {
  const err = refusal(value, options);
  expect(err.code).toBe('SKIFF_E_INVALID_SPEC');
  return err.message;
}
