/**
 * Routes of workflows (`/v1/workflows`): apply (create or replace) with PUT, get, list and delete. An
 * apply is validated (schema, caps, every named function deployed), written to the store, and the
 * resolver's table is rebuilt from the store before the answer: the next cast of a member uses it.
 */
import type { z } from 'zod';
import { namedFunctions, WORKFLOW_LIMITS, type Workflow } from '../model/workflow.js';
import { SkiffError } from '../shared/errors.js';
import { readBody, sendJson } from '../shared/http.js';
import { invalidWorkflow, parseWorkflow, type WorkflowIssue } from '../shared/validate.js';
import type { WorkflowStore } from '../store/workflow-store.js';
import type { Route } from './app.js';
import type { PreparedWorkflow, WorkflowFormat } from './workflow-formats.js';
import {
  workflowParams,
  type workflowListSchema,
  type workflowResponseSchema,
  type workflowSchema,
} from './workflow-schemas.js';

export interface WorkflowsDeps {
  /** Whether a deployed function or an external target has this name. */
  exists: (name: string) => boolean;
  /** Whether a deployed function has this name (never a name a format may serve). */
  isFunction: (name: string) => boolean;
  /** Other platforms' workflow formats, tried in order before Skiff's own (none: Skiff's only). */
  formats?: readonly WorkflowFormat[];
  store: WorkflowStore;
  /** Swaps in the table of these workflows (src/invoke/workflows.ts `WorkflowResolver.load`). */
  reload: (workflows: Workflow[]) => void;
}

const view = (w: Workflow): z.output<typeof workflowSchema> => ({
  name: w.spec.name,
  ...(w.spec.description === undefined ? {} : { description: w.spec.description }),
  functions: w.spec.functions,
  version: w.version,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

const notFound = (name: string) =>
  new SkiffError(
    'SKIFF_E_WORKFLOW_NOT_FOUND',
    `no workflow named ${JSON.stringify(name)}; \`skiff workflow list\` shows them`,
  );

function jsonBody(raw: Buffer, source: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw invalidWorkflow(source, [{ path: '(root)', message: 'the body is not JSON' }]);
  }
}

/** Where the spec names a function that is not deployed (members, then targets). */
function missingFunctions(spec: Workflow['spec'], exists: (fn: string) => boolean): WorkflowIssue[] {
  const issues: WorkflowIssue[] = [];
  const missing = new Set(namedFunctions(spec).filter((fn) => !exists(fn)));
  const message = (fn: string) => `no function named ${JSON.stringify(fn)}; deploy it first`;
  for (const [member, aliases] of Object.entries(spec.functions)) {
    if (missing.has(member)) issues.push({ path: `functions.${member}`, message: message(member) });
    for (const [alias, targets] of Object.entries(aliases)) {
      targets.forEach((t, i) => {
        if (missing.has(t)) issues.push({ path: `functions.${member}.${alias}[${i}]`, message: message(t) });
      });
    }
  }
  return issues;
}

/** A prepared foreign workflow whose names clash with deployed functions: refused, naming them. */
function takenNames(prepared: PreparedWorkflow, exists: (fn: string) => boolean, source: string): void {
  const taken = prepared.provides.filter(exists);
  if (taken.length === 0) return;
  throw new SkiffError(
    'SKIFF_E_WORKFLOW_CONFLICT',
    `${source} would serve ${taken.map((n) => JSON.stringify(n)).join(', ')}, already the name of a function or of another workflow's member; rename the member or the workflow`,
  );
}

export function workflowRoutes(deps: WorkflowsDeps): Route[] {
  const { store } = deps;
  const formats = deps.formats ?? [];
  const reload = () => deps.reload(store.list());
  /** Every format but `kept` gives the workflow up (it was deleted, or is now in another format). */
  const release = (name: string, kept?: WorkflowFormat) => {
    for (const format of formats) if (format !== kept) format.release(name);
  };
  const maxBytes = Math.max(WORKFLOW_LIMITS.maxSpecBytes, ...formats.map((f) => f.maxBytes));
  const nameOf = (raw: string): string => {
    if (workflowParams.shape.name.safeParse(raw).success) return raw;
    throw new SkiffError(
      'SKIFF_E_INVALID_NAME',
      `invalid workflow name ${JSON.stringify(raw)}: use 1-63 lower-case letters, digits and dashes, starting with a letter or digit`,
    );
  };

  return [
    {
      method: 'GET',
      path: '/v1/workflows',
      handler: ({ res }) => {
        const workflows = store.list().map((w) => ({
          name: w.spec.name,
          ...(w.spec.description === undefined ? {} : { description: w.spec.description }),
          members: Object.keys(w.spec.functions),
          version: w.version,
          createdAt: w.createdAt,
          updatedAt: w.updatedAt,
        }));
        sendJson(res, 200, { workflows } satisfies z.output<typeof workflowListSchema>);
      },
    },
    {
      method: 'GET',
      path: '/v1/workflows/{name}',
      handler: ({ res, params }) => {
        const name = nameOf(params['name'] ?? '');
        const workflow = store.get(name);
        if (workflow === undefined) throw notFound(name);
        sendJson(res, 200, { workflow: view(workflow) } satisfies z.output<typeof workflowResponseSchema>);
      },
    },
    {
      method: 'PUT',
      path: '/v1/workflows/{name}',
      handler: async ({ req, res, params }) => {
        const name = nameOf(params['name'] ?? '');
        const source = `workflow ${name}`;
        const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase();
        if (type !== 'application/json')
          throw new SkiffError(
            'SKIFF_E_UNSUPPORTED_MEDIA_TYPE',
            `send a workflow spec as application/json, not ${type ?? ''}`,
          );
        const bytes = await readBody(req, maxBytes);
        const raw = jsonBody(bytes, source);
        const format = formats.find((f) => f.accepts(raw));
        if (format !== undefined) {
          const prepared = await format.prepare(name, raw);
          // a deployed function's name is never free; a served name is, if this workflow served it
          const owned = new Set(Object.keys(store.get(name)?.spec.functions ?? {}));
          takenNames(
            prepared,
            (fn) => deps.isFunction(fn) || (!owned.has(fn) && deps.exists(fn)),
            `the ${format.label} of ${name}`,
          );
          const provided = new Set(prepared.provides);
          const missing = missingFunctions(prepared.spec, (fn) => provided.has(fn) || deps.exists(fn));
          if (missing.length > 0) throw invalidWorkflow(source, missing);
          // from here to the answer nothing awaits: the store, the format and the table change together
          const { workflow, created } = store.apply(prepared.spec);
          release(name, format);
          prepared.commit();
          reload();
          sendJson(res, created ? 201 : 200, {
            workflow: view(workflow),
            warnings: [...prepared.warnings],
          } satisfies z.output<typeof workflowResponseSchema>);
          return;
        }
        if (bytes.length > WORKFLOW_LIMITS.maxSpecBytes) {
          throw new SkiffError(
            'SKIFF_E_PAYLOAD_TOO_LARGE',
            `a workflow spec is at most ${WORKFLOW_LIMITS.maxSpecBytes} bytes; this one has ${bytes.length}`,
          );
        }
        if (Array.isArray((raw as { functions?: unknown } | null)?.functions)) {
          throw invalidWorkflow(source, [
            {
              path: 'functions',
              message:
                "a list, not an object of members: a workflow file in another platform's format is taken only while that platform's compatibility is enabled (docs/compat/)",
            },
          ]);
        }
        let body = raw;
        if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
          const given = (raw as Record<string, unknown>)['name'];
          if (given === undefined) body = { ...raw, name };
          else if (given !== name)
            throw invalidWorkflow(source, [
              { path: 'name', message: `the spec names ${JSON.stringify(given)}, the path ${name}` },
            ]);
        }
        const spec = parseWorkflow(body, source);
        const missing = missingFunctions(spec, deps.exists);
        if (missing.length > 0) throw invalidWorkflow(source, missing);
        // from here to the answer nothing awaits: the store and the table change together
        const { workflow, created } = store.apply(spec);
        release(name);
        reload();
        sendJson(res, created ? 201 : 200, {
          workflow: view(workflow),
        } satisfies z.output<typeof workflowResponseSchema>);
      },
    },
    {
      method: 'DELETE',
      path: '/v1/workflows/{name}',
      handler: ({ res, params }) => {
        const name = nameOf(params['name'] ?? '');
        if (!store.delete(name)) throw notFound(name);
        release(name);
        reload();
        res.writeHead(204).end();
      },
    },
  ];
}
