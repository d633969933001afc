/**
 * What the EDGELESS acceptance tests (test/edgeless/acceptance-*.test.ts) share: guest processes
 * (test/fixtures/edgeless/guest.py, behaving like runtime-python's template function) on free ports,
 * with every JSON line they print kept and waited on; a builder of EDGELESS workflow JSON whose
 * functions attach to those guests (`grpc:http://127.0.0.1:<port>`) and whose resources are file-logs;
 * and the platform calls the tests make (apply, delete, HTTP calls and async casts to a member).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client, credentials, Metadata, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import { guestApiServices, type InstanceId } from '../../src/compat/edgeless/guest-api.js';
import { FIXTURES, type TestPlatform } from './platform.js';
import { waitFor } from './wait.js';

export const PYTHON = '/usr/bin/python3';
export const GUEST_SCRIPT = path.join(FIXTURES, 'edgeless', 'guest.py');
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The platform config that turns the dialect on (the rest: defaults). */
export const EDGELESS_ON = { compat: { edgeless: { enabled: true } } };

/** One line a guest printed (guest.py's docstring lists them). */
export interface GuestEvent {
  event?: string;
  method?: string;
  /** Wall clock (ms since the epoch) when the guest wrote the line. */
  at: number;
  port?: number;
  src?: InstanceId;
  msg?: string;
  init_payload?: string;
  serialized_state?: string;
  endpoint?: string;
  instance_id?: InstanceId;
  rpc?: string;
  sent?: number;
  type?: number;
  id?: InstanceId;
  code?: string;
  details?: string;
}

export const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64');

/** One guest process serving GuestAPIFunction on a free port. */
export class Guest {
  readonly events: GuestEvent[] = [];
  private readonly stderr: string[] = [];
  private port = 0;

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as GuestEvent);
    });
  }

  /** A guest on `port` (0: a free one). */
  static async start(port = 0): Promise<Guest> {
    const child = spawn(PYTHON, [GUEST_SCRIPT, '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const guest = new Guest(child);
    const serving = await guest.next('to serve', (e) => e.event === 'serving', 0, 20_000);
    guest.port = serving.port ?? 0;
    return guest;
  }

  /** `class_specification.code` attaching to this guest. */
  get code(): string {
    return `grpc:http://127.0.0.1:${this.port}`;
  }

  /** Where the events from now on start (give it to `next` as `from`). */
  mark(): number {
    return this.events.length;
  }

  /** The first event at or after index `from` that `match` accepts; waits up to `ms` for it. */
  next(what: string, match: (e: GuestEvent) => boolean, from = 0, ms = 10_000): Promise<GuestEvent> {
    return waitFor(
      () =>
        `the guest ${what} (its lines: ${JSON.stringify(this.events.slice(from)).slice(-3000)}; stderr: ${this.stderr.join('').slice(-2000)})`,
      () => this.events.slice(from).find(match),
      ms,
    );
  }

  /** Waits until the guest got GuestAPIFunction `method` (and `match` accepts it). */
  got(method: string, from = 0, match: (e: GuestEvent) => boolean = () => true, ms?: number) {
    return this.next(`to get ${method}`, (e) => e.method === method && match(e), from, ms);
  }

  /** Waits until the guest got a Cast of exactly these bytes. */
  gotCast(msg: string | Buffer, from = 0, ms?: number): Promise<GuestEvent> {
    const want = b64(msg);
    return this.next(
      `to get Cast ${JSON.stringify(msg.toString())}`,
      (e) => e.method === 'Cast' && e.msg === want,
      from,
      ms,
    );
  }

  /** Waits for the host-reply of a GuestAPIHost call the guest made (`rpc`). */
  hostReply(rpc: string, from = 0, ms?: number): Promise<GuestEvent> {
    return this.next(
      `to get an answer to its host ${rpc}`,
      (e) => e.event === 'host-reply' && e.rpc === rpc,
      from,
      ms,
    );
  }

  /** Waits for a Boot and the Init after it (from `from` on); returns both. */
  async booted(from = 0, ms = 20_000): Promise<{ boot: GuestEvent; init: GuestEvent }> {
    const boot = await this.got('Boot', from, () => true, ms);
    const init = await this.got('Init', this.events.indexOf(boot), () => true, ms);
    return { boot, init };
  }

  /** The instance id of the latest Boot the guest got. */
  get instance(): InstanceId {
    const boot = this.events.findLast((e) => e.method === 'Boot');
    if (boot?.instance_id === undefined) throw new Error('the guest was never booted');
    return boot.instance_id;
  }

  /** The events of `method` since `from`. */
  all(method: string, from = 0): GuestEvent[] {
    return this.events.slice(from).filter((e) => e.method === method);
  }

  /** Host calls that failed since `from`. */
  hostErrors(from = 0): GuestEvent[] {
    return this.events.slice(from).filter((e) => e.event === 'host-error');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function startGuests(n: number): Promise<Guest[]> {
  return Promise.all(Array.from({ length: n }, () => Guest.start()));
}

export async function stopGuests(guests: readonly (Guest | undefined)[]): Promise<void> {
  await Promise.all(guests.map((g) => g?.stop()));
}

/** A function of the workflow: attached to `guest` (or with an explicit `code`). */
export interface MemberSpec {
  name: string;
  guest?: Guest;
  code?: string;
  outputs?: string[];
  mapping?: Record<string, string>;
  annotations?: Record<string, string>;
  version?: string;
}

/** A file-log resource writing `filename` (relative to the file-log directory). */
export interface LogSpec {
  name: string;
  filename: string;
  configurations?: Record<string, string>;
}

/** EDGELESS workflow JSON, as `edgeless_cli workflow start` reads it. */
export function edgelessWorkflow(
  functions: MemberSpec[],
  resources: LogSpec[] = [],
): Record<string, unknown> {
  return {
    functions: functions.map((f) => ({
      name: f.name,
      class_specification: {
        id: f.name,
        function_type: 'CONTAINER',
        version: f.version ?? '1.0',
        code: f.code ?? f.guest?.code ?? 'grpc:http://127.0.0.1:1',
        outputs: f.outputs ?? Object.keys(f.mapping ?? {}),
      },
      output_mapping: f.mapping ?? {},
      annotations: f.annotations ?? {},
    })),
    resources: resources.map((r) => ({
      name: r.name,
      class_type: 'file-log',
      output_mapping: {},
      configurations: { filename: r.filename, ...r.configurations },
    })),
    annotations: {},
  };
}

/** The Skiff name of a workflow member (`<workflow>--<member>`, the member lower-cased, `_`/`.` as `-`). */
export const memberName = (workflow: string, member: string): string =>
  `${workflow}--${member.toLowerCase().replace(/[_.]/g, '-')}`;

/** Where a file-log resource of `workflow` writes `filename` (a folder per workflow). */
export const fileLogPath = (p: TestPlatform, workflow: string, filename: string): string =>
  path.join(p.dataDir, 'edgeless', 'file-log', workflow, filename);

/** The lines of a file-log so far ([] before it exists). */
export async function fileLogLines(p: TestPlatform, workflow: string, filename: string): Promise<string[]> {
  const text = await readFile(fileLogPath(p, workflow, filename), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '');
}

/** PUT /v1/workflows/<name> with a JSON body (not checked: refusals are tested too). */
export function putWorkflow(p: TestPlatform, name: string, body: unknown): Promise<Response> {
  return p.api(`/v1/workflows/${name}`, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

export interface Applied {
  workflow: unknown;
  warnings: string[];
}

/** Applies a workflow and fails unless it is taken (200 or 201). */
export async function applyWorkflow(p: TestPlatform, name: string, body: unknown): Promise<Applied> {
  const res = await putWorkflow(p, name, body);
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) throw new Error(`applying ${name}: ${res.status} ${text}`);
  return JSON.parse(text) as Applied;
}

/** Deletes a workflow and fails unless the platform says it did. */
export async function deleteWorkflow(p: TestPlatform, name: string): Promise<void> {
  const res = await p.api(`/v1/workflows/${name}`, { method: 'DELETE' });
  if (res.status !== 200 && res.status !== 204)
    throw new Error(`deleting ${name}: ${res.status} ${await res.text()}`);
}

/** An async cast through the HTTP gateway (`X-Skiff-Async: true`); returns the invocation id. */
export async function castOverHttp(p: TestPlatform, target: string, body: string | Buffer): Promise<string> {
  const res = await p.call(`/${target}`, {
    method: 'POST',
    headers: { 'x-skiff-async': 'true', 'content-type': 'application/octet-stream' },
    body,
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`async cast to ${target}: ${res.status} ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

/** A synchronous call through the HTTP gateway. */
export function callOverHttp(p: TestPlatform, target: string, body: string | Buffer): Promise<Response> {
  return p.call(`/${target}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
}

export interface MemberLogLine {
  ts: string;
  stream: string;
  level: string;
  message: string;
  logger?: string;
}

/** A member's function log, oldest first (GET /v1/functions/<name>/logs; [] while there is none). */
export async function memberLogs(p: TestPlatform, name: string): Promise<MemberLogLine[]> {
  const res = await p.api(`/v1/functions/${name}/logs?limit=1000`);
  if (res.status !== 200) return [];
  return ((await res.json()) as { logs: MemberLogLine[] }).logs;
}

/**
 * A client of the GuestAPIHost a Boot announced (`http://host:port/`), for calls no guest would make
 * (without an originator, as another instance). `path` overrides the method path.
 */
export class HostClient {
  private readonly client: Client;
  private readonly service = guestApiServices().guestApiHost;

  constructor(endpoint: string) {
    this.client = new Client(
      endpoint.replace(/^https?:\/\//, '').replace(/\/$/, ''),
      credentials.createInsecure(),
    );
  }

  unary(rpc: string, request: object, path?: string): Promise<unknown> {
    const method = this.service[rpc] as MethodDefinition<object, unknown> | undefined;
    if (method === undefined) throw new Error(`GuestAPIHost has no ${rpc}`);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path ?? method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        (err: ServiceError | null, response?: unknown) => (err !== null ? reject(err) : resolve(response)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
