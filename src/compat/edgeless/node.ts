/**
 * Skiff as an EDGELESS node: the workflows applied in EDGELESS JSON (a workflow format of
 * `PUT /v1/workflows/{name}`), their attached instances and file-log resources, each served under a
 * Skiff name as an external target (`<workflow>--<member>`), and the host side of the guest API.
 * Applied files are kept under `<dataDir>/edgeless/workflows/` and attached again at the next start.
 * docs/compat/edgeless.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PreparedWorkflow, WorkflowFormat } from '../../control/workflow-formats.js';
import type { ExternalTarget } from '../../invoke/external-targets.js';
import type { Invocation, Result } from '../../model/invocation.js';
import type { WorkflowSpec } from '../../model/workflow.js';
import { connectionLimits } from '../../shared/connection-budget.js';
import { SkiffError } from '../../shared/errors.js';
import type { DialectContext } from '../dialect.js';
import type { EdgelessSection } from './config.js';
import { FileLogTarget, type FileLogFlags } from './file-log-target.js';
import { guestApiServices, type GuestApiServices, type InstanceId } from './guest-api.js';
import { hostHandlers, SYNC_STATE_KEY, type HostNode } from './host-service.js';
import { AttachedInstance } from './instance.js';
import { endpointKey, membersOf, stableId } from './members.js';
import { diffPlans } from './workflow-diff.js';
import { planEdgelessWorkflow } from './workflow-json.js';
import type { FunctionPlan, WorkflowPlan } from './workflow-plan.js';

const OWNER = 'edgeless';
/** Connections one instance's host listener takes at once (an instance needs one). */
const MAX_HOST_CONNECTIONS = 16;
const NIL_ID = '00000000-0000-0000-0000-000000000000';

/** One applied workflow: its plan, and the Skiff name of each of its components. */
interface Running {
  name: string;
  plan: WorkflowPlan;
  /** EDGELESS name → Skiff name. */
  names: Map<string, string>;
  instances: Map<string, AttachedInstance>;
  /** Skiff name of a file-log resource → its file's writer and its flags. */
  logs: Map<string, { writer: FileLogTarget; flags: FileLogFlags }>;
  /** Skiff name → (channel → Skiff name of its target). */
  mappings: Map<string, Map<string, string>>;
  createdAt: number;
}

export class EdgelessNode {
  private readonly running = new Map<string, Running>();
  private readonly services: GuestApiServices = guestApiServices();
  private readonly dir: string;
  readonly nodeId: string;
  private started = false;
  private readonly fileLogs = new Map<string, FileLogTarget>();
  /** Stops under way, by endpoint (`endpointKey`): an instance booting the same process waits for them. */
  private readonly stopping = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: DialectContext,
    private readonly section: EdgelessSection,
  ) {
    this.dir = path.join(ctx.config.dataDir, 'edgeless');
    mkdirSync(path.join(this.dir, 'workflows'), { recursive: true, mode: 0o700 });
    this.nodeId = section.nodeId ?? this.storedNodeId();
  }

  /** The format `PUT /v1/workflows/{name}` takes EDGELESS JSON with. */
  readonly format: WorkflowFormat = {
    label: 'EDGELESS workflow JSON',
    maxBytes: 256 * 1024,
    accepts: (body) =>
      typeof body === 'object' && body !== null && Array.isArray((body as { functions?: unknown }).functions),
    prepare: (name, body) => this.prepare(name, body),
    release: (name) => this.release(name),
  };

  /** Takes up the names of the workflows applied before (at enable, before any invocation). */
  restore(): void {
    for (const file of readdirSync(path.join(this.dir, 'workflows'))) {
      if (!file.endsWith('.json')) continue;
      const name = file.slice(0, -'.json'.length);
      try {
        const kept = JSON.parse(readFileSync(path.join(this.dir, 'workflows', file), 'utf8')) as {
          createdAt?: unknown;
          body?: unknown;
        };
        // made when first applied: what was queued for its members before this start is still theirs
        const createdAt = typeof kept.createdAt === 'number' ? kept.createdAt : 0;
        const prepared = this.prepare(name, kept.body, createdAt);
        const stale = this.staleReason(name, prepared.spec, prepared.provides);
        if (stale !== undefined) {
          this.ctx.logger.warn(
            { workflow: name },
            `EDGELESS workflow ${name} is not attached again: ${stale}`,
          );
          rmSync(path.join(this.dir, 'workflows', file), { force: true });
          continue;
        }
        prepared.commit();
      } catch (err) {
        this.ctx.logger.warn({ err, workflow: name }, 'cannot attach this EDGELESS workflow again');
      }
    }
  }

  /**
   * Why a kept file no longer describes a workflow of this platform: the workflow was deleted or
   * replaced while the dialect was off, or a function was deployed under one of its members' names.
   */
  private staleReason(name: string, spec: WorkflowSpec, provides: readonly string[]): string | undefined {
    const stored = this.ctx.storedWorkflow(name);
    if (stored === undefined || JSON.stringify(stored.functions) !== JSON.stringify(spec.functions))
      return 'the platform no longer holds it (deleted or replaced while EDGELESS was off)';
    const taken = provides.filter((n) => this.ctx.registry.getFunction(n) !== undefined);
    if (taken.length > 0)
      return `${taken.join(', ')} ${taken.length === 1 ? 'is' : 'are'} now deployed as functions; apply it again under another name`;
    return undefined;
  }

  /** Boots every attached instance (once the platform listens). */
  start(): void {
    this.started = true;
    for (const run of this.running.values()) for (const i of run.instances.values()) this.bootLater(i);
  }

  /** Stops every instance (at shutdown): each gets Stop, so that the next start can boot it again. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(
      [...this.running.values()].flatMap((r) => [...r.instances.values()].map((i) => i.stop('replaced'))),
    );
  }

  private storedNodeId(): string {
    const file = path.join(this.dir, 'node-id');
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[0-9a-f-]{36}$/.test(id)) return id;
    } catch {
      // made below
    }
    const id = randomUUID();
    writeFileSync(file, `${id}\n`, { mode: 0o600 });
    return id;
  }

  private prepare(name: string, body: unknown, createdAt?: number): PreparedWorkflow {
    const { section } = this;
    const plan = planEdgelessWorkflow(body, {
      ociRunner: false,
      // a workflow's logs in a folder of its own: no workflow writes another's files
      fileLogDir: path.join(this.dir, 'file-log', name),
      node: { id: this.nodeId, labels: section.labels, resources: [], tee: section.tee, tpm: section.tpm },
    });
    const before = this.running.get(name);
    // over a running workflow: what changes how (a member turning into a resource is refused)
    const diff = before === undefined ? undefined : diffPlans(before.plan, plan);
    const elsewhere = new Map<string, string>();
    for (const [other, run] of this.running) {
      if (other === name) continue;
      for (const i of run.instances.values())
        elsewhere.set(endpointKey(i.deps.url), `${i.name} (workflow ${other})`);
    }
    const { names, provides, mappings, spec } = membersOf(name, plan, {
      attachedElsewhere: elsewhere,
      attachedCount: [...elsewhere.keys()].length,
      maxInstances: section.maxInstances,
      refused: diff?.refused ?? [],
    });
    const restart = new Set(diff?.restart.map((c) => c.component));
    return {
      spec,
      provides,
      warnings: plan.warnings,
      commit: () => this.commit(name, body, plan, names, mappings, restart, createdAt),
    };
  }

  private commit(
    name: string,
    body: unknown,
    plan: WorkflowPlan,
    names: Map<string, string>,
    mappings: Map<string, Map<string, string>>,
    /** Components whose instances start anew (their code, URL or init payload changed). */
    restart: ReadonlySet<string>,
    createdAt?: number,
  ): void {
    const before = this.running.get(name);
    const run: Running = {
      name,
      plan,
      names,
      instances: new Map(),
      logs: new Map(),
      mappings,
      createdAt: before?.createdAt ?? createdAt ?? Date.now(),
    };
    const attached = plan.functions.filter((f) => 'url' in f.attach);
    const kept = new Map<string, AttachedInstance>();
    for (const f of attached) {
      const skiff = names.get(f.name) ?? '';
      const old = before?.instances.get(skiff);
      if (old !== undefined && !restart.has(f.name)) kept.set(skiff, old);
    }
    // every old instance not kept stops before any new one is made: a new instance of the same
    // process (renamed, restarted) then waits for that Stop before its Boot
    const staying = new Set(attached.map((f) => names.get(f.name) ?? ''));
    for (const [skiff, old] of before?.instances ?? []) {
      if (kept.get(skiff) !== old) this.stopInstance(old, staying.has(skiff) ? 'replaced' : 'removed');
    }
    for (const f of attached) {
      if (!('url' in f.attach)) continue;
      const skiff = names.get(f.name) ?? '';
      run.instances.set(skiff, kept.get(skiff) ?? this.instance(run, skiff, f, f.attach.url));
    }
    for (const r of plan.resources) {
      const skiff = names.get(r.name) ?? '';
      run.logs.set(skiff, {
        writer: this.writer(r.file),
        flags: { addSourceId: r.addSourceId, addTimestamp: r.addTimestamp },
      });
    }
    // what the old plan ran and the new one does not (or runs anew) stops
    if (before !== undefined) {
      for (const skiff of [...before.instances.keys(), ...before.logs.keys()]) {
        if (!run.instances.has(skiff) && !run.logs.has(skiff)) this.forget(skiff);
      }
    }
    this.running.set(name, run);
    this.pruneWriters();
    const callers = [...new Set(names.values())];
    for (const [skiff, instance] of run.instances) {
      this.ctx.externals.set(
        skiff,
        this.target(run, callers, (inv) => instance.deliver(inv, this.sourceOf(inv))),
      );
      if (this.started) this.bootLater(instance);
    }
    for (const [skiff, log] of run.logs) {
      this.ctx.externals.set(
        skiff,
        this.target(run, callers, async (inv) => {
          // only the workflow's members write its log: a client of the gateway could forge lines
          if (inv.caller === undefined || !callers.includes(inv.caller)) {
            throw new SkiffError(
              'SKIFF_E_FORBIDDEN',
              `${skiff} is a file-log of workflow ${run.name}: only its members send events to it`,
            );
          }
          await log.writer.write(inv.body, this.sourceOf(inv), log.flags);
          return { status: 204, headers: [['x-edgeless-call-ret', 'no-reply']], body: Buffer.alloc(0) };
        }),
      );
    }
    const file = path.join(this.dir, 'workflows', `${name}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ createdAt: run.createdAt, body }), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  private release(name: string): void {
    const run = this.running.get(name);
    if (run === undefined) return;
    this.running.delete(name);
    this.pruneWriters();
    // stopping first: from then on the instances' requests (a Sync) are refused, so the state
    // deleted with the names stays deleted
    for (const instance of run.instances.values()) this.stopInstance(instance, 'removed');
    for (const skiff of [...run.instances.keys(), ...run.logs.keys()]) this.forget(skiff);
    rmSync(path.join(this.dir, 'workflows', `${name}.json`), { force: true });
  }

  /**
   * Stops an instance; an instance started later for the same process waits for it (its Stop must not
   * land after the new Boot and Init).
   */
  private stopInstance(instance: AttachedInstance, why: 'removed' | 'replaced'): void {
    const url = endpointKey(instance.deps.url);
    const stopped = instance.stop(why);
    const previous = this.stopping.get(url);
    const all = Promise.all([previous, stopped]).then(() => undefined);
    this.stopping.set(url, all);
    void all.finally(() => {
      if (this.stopping.get(url) === all) this.stopping.delete(url);
    });
  }

  /** Forgets the writers of files no running workflow's resource writes any more (the map stays bounded). */
  private pruneWriters(): void {
    const used = new Set<FileLogTarget>();
    for (const run of this.running.values()) for (const log of run.logs.values()) used.add(log.writer);
    for (const [file, writer] of this.fileLogs) if (!used.has(writer)) this.fileLogs.delete(file);
  }

  /** The one writer of a file-log file (shared by the resources, and the applies, that write it). */
  private writer(file: string): FileLogTarget {
    let writer = this.fileLogs.get(file);
    if (writer === undefined) {
      writer = new FileLogTarget({ file, maxBytes: this.section.maxFileLogBytes, logger: this.ctx.logger });
      this.fileLogs.set(file, writer);
    }
    return writer;
  }

  /** A member that is gone: its name is free again, and what it synced is deleted with it. */
  private forget(skiff: string): void {
    this.ctx.externals.delete(skiff, OWNER);
    this.ctx.state
      .deleteAll(skiff)
      .catch((err: unknown) =>
        this.ctx.logger.warn({ err, member: skiff }, 'cannot delete the state of a removed member'),
      );
  }

  private target(
    run: Running,
    callers: readonly string[],
    invoke: (inv: Invocation) => Promise<Result>,
  ): ExternalTarget {
    return { owner: OWNER, callers, private: false, createdAt: run.createdAt, invoke };
  }

  private bootLater(instance: AttachedInstance): void {
    instance
      .ensure()
      .catch((err: unknown) =>
        this.ctx.logger.warn(
          { err, instance: instance.name },
          'EDGELESS instance not booted; the next event tries again',
        ),
      );
  }

  private instance(run: Running, skiff: string, f: FunctionPlan, url: string): AttachedInstance {
    const { section, ctx } = this;
    const host: HostNode = {
      alias: (instance, alias) => this.running.get(run.name)?.mappings.get(instance.name)?.get(alias),
      raw: (_instance, dst) => this.raw(run.name, dst),
      casts: ctx.casts,
      calls: ctx.calls,
      state: ctx.state,
      logs: ctx.logs,
      logger: ctx.logger,
      callTimeoutMs: section.callTimeoutMs,
      maxCallBodyBytes: ctx.config.http.maxBodyBytes,
    };
    return new AttachedInstance({
      name: skiff,
      url,
      initPayload: f.initPayload,
      nodeId: this.nodeId,
      bindHost: section.host,
      announceHost: section.announceHost ?? announceDefault(section.host),
      bootTimeoutMs: section.bootTimeoutMs,
      callTimeoutMs: section.callTimeoutMs,
      maxPending: section.maxPendingPerInstance,
      limits: connectionLimits(ctx.config, MAX_HOST_CONNECTIONS),
      ...(this.stopping.has(endpointKey(url))
        ? { after: this.stopping.get(endpointKey(url)) as Promise<void> }
        : {}),
      services: this.services,
      syncedState: async () => (await ctx.state.get(skiff, SYNC_STATE_KEY))?.value ?? Buffer.alloc(0),
      hostHandlers: (instance) => hostHandlers(host, instance),
      logger: ctx.logger,
      warn: (message) => {
        ctx.logger.debug({ instance: skiff }, message);
        ctx.logs.append(skiff, { stream: 'platform', level: 'warn', message });
      },
    });
  }

  /** The Skiff name of the component of workflow `name` with this id (an instance's, or a function's stable id). */
  private raw(name: string, dst: InstanceId): string | undefined {
    const run = this.running.get(name);
    if (run === undefined || dst.node_id !== this.nodeId) return undefined;
    for (const instance of run.instances.values()) if (instance.owns(dst)) return instance.name;
    for (const skiff of run.names.values()) {
      if (!run.instances.has(skiff) && stableId(this.nodeId, skiff) === dst.function_id) return skiff;
    }
    return undefined;
  }

  /** The `src` an instance sees: the sending instance's id, a function's stable id, or the nil id. */
  private sourceOf(inv: Invocation): InstanceId {
    const caller = inv.caller;
    if (caller === undefined) return { node_id: this.nodeId, function_id: NIL_ID };
    for (const run of this.running.values()) {
      const sender = run.instances.get(caller);
      const id = sender?.id ?? sender?.pendingId;
      if (id !== undefined) return id;
    }
    return { node_id: this.nodeId, function_id: stableId(this.nodeId, caller) };
  }
}

function announceDefault(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
}
