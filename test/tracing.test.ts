/**
 * Tracing (issue 21, docs/operations.md): a W3C traceparent on an HTTP call is continued by
 * the invocation, handed to the function (`ctx.traceId`, `ctx.traceparent`), carried through
 * `ctx.call` and `ctx.cast` (the queued cast keeps it), written into every log line and into the
 * invocation record, and exported as OTLP spans whose tree mirrors the calls, to an OTLP/HTTP receiver
 * run here. The export is flushed by a graceful stop. Hostile traceparent values start a new trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from './helpers/cli.js';
import { fixture, FIXTURES, makeDataDir, removeDir } from './helpers/platform.js';
import { deployTo, exited, spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { waitFor } from './helpers/wait.js';

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  traceState?: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  events?: { name: string }[];
  status?: { code?: number };
}

interface Answer {
  traceId: string;
  traceparent: string;
  tracestate: string;
  invocationId?: string;
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';
const HEX32 = /^[0-9a-f]{32}$/;

let receiver: Server;
/** Every OTLP request body the receiver got, as parsed JSON, and what it was sent with. */
const exports: { contentType: string | undefined; body: unknown }[] = [];
let serve: ServeProcess | undefined;
let dataDir = '';
/** A hook preloaded into `skiff serve` that records which OpenTelemetry SDK modules it resolves. */
const WITNESS_HOOK = `--import=${path.join(FIXTURES, 'module-witness.mjs')}`;
const witnessed = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

function spansOf(): { span: OtlpSpan; resource: Record<string, unknown> }[] {
  const out: { span: OtlpSpan; resource: Record<string, unknown> }[] = [];
  for (const { body } of exports) {
    const { resourceSpans } = body as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: OtlpSpan[] }[];
      }[];
    };
    for (const rs of resourceSpans) {
      const resource = Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value.stringValue]));
      for (const ss of rs.scopeSpans) for (const span of ss.spans) out.push({ span, resource });
    }
  }
  return out;
}

const attr = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
};

/** GET or POST through node:http, so that a test can send any header, repeated ones included. */
function send(
  path: string,
  headers: Record<string, string | string[]>,
  body = '',
): Promise<{ status: number; text: string }> {
  const url = new URL(path, serve?.http);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      if (req.url === '/v1/traces') {
        exports.push({ contentType: req.headers['content-type'], body: JSON.parse(raw.toString('utf8')) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  dataDir = await makeDataDir();
  serve = await spawnServe(dataDir, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'skiff-under-test',
      // nothing is exported on a timer during the test: what arrives came with the stop's flush
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      NODE_OPTIONS: WITNESS_HOOK,
      MODULE_WITNESS_FILE: path.join(dataDir, 'witness'),
    },
  });
  for (const name of ['trace-a', 'trace-b', 'trace-c']) {
    const res = await deployTo(serve, name, fixture(name));
    expect(res.status, res.text).toBe(201);
  }
}, 180_000);

afterAll(async () => {
  if (serve !== undefined && serve.child.exitCode === null) {
    serve.child.kill('SIGKILL');
    await exited(serve.child);
  }
  receiver?.close();
  if (dataDir !== '') await removeDir(dataDir);
});

describe('tracing', () => {
  let a: Answer & { b: Answer; castId: string };

  it("continues the caller's traceparent through ctx.call and ctx.cast, into ctx, logs and records", async () => {
    const res = await send('/trace-a', {
      traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
      tracestate: TRACESTATE,
    });
    expect(res.status, res.text).toBe(200);
    a = JSON.parse(res.text) as typeof a;
    // the function runs in the caller's trace, in a span of its own
    expect(a.traceId).toBe(TRACE_ID);
    expect(a.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(a.traceparent).not.toContain(PARENT_ID);
    expect(a.tracestate).toBe(TRACESTATE);
    // the callee: same trace, another span
    expect(a.b.traceId).toBe(TRACE_ID);
    expect(a.b.traceparent.slice(36, 52)).not.toBe(a.traceparent.slice(36, 52));
    expect(a.b.tracestate).toBe(TRACESTATE);

    // the cast went through the queue: its record and its run (Python) keep the trace
    const env = cleanEnv({ SKIFF_HOME: dataDir });
    const record = await waitFor(
      'the cast to finish',
      async () => {
        const got = await runCli(['invocation', 'get', a.castId, '--json'], env);
        expect(got.code, got.stderr).toBe(0);
        const { invocation } = JSON.parse(got.stdout) as {
          invocation: { status: string; traceId: string | null; result: { body: string } | null };
        };
        return invocation.status === 'succeeded' ? invocation : undefined;
      },
      30_000,
    );
    expect(record.traceId).toBe(TRACE_ID);
    const c = JSON.parse(Buffer.from(record.result?.body ?? '', 'base64').toString('utf8')) as Answer;
    expect(c.traceId).toBe(TRACE_ID);
    expect(c.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(c.tracestate).toBe(TRACESTATE);

    // every function's log line of the chain names the trace
    for (const [fn, text] of [
      ['trace-a', 'trace-a runs in'],
      ['trace-b', 'trace-b runs in'],
      ['trace-c', 'trace-c runs in'],
    ] as const) {
      const got = await runCli(['logs', fn, '--json'], env);
      expect(got.code, got.stderr).toBe(0);
      const { logs } = JSON.parse(got.stdout) as { logs: { message: string; traceId?: string }[] };
      const line = logs.find((l) => l.message.includes(text));
      expect(line, got.stdout).toBeDefined();
      expect(line?.message).toContain(TRACE_ID);
      expect(line?.traceId).toBe(TRACE_ID);
    }
  }, 60_000);

  it('fixes the trace of an async HTTP call when it is accepted: its record and its run have it', async () => {
    const parent = '1234567890abcdef1234567890abcdef';
    const res = await send('/trace-b', {
      'x-skiff-async': 'true',
      traceparent: `00-${parent}-${PARENT_ID}-01`,
    });
    expect(res.status, res.text).toBe(202);
    const { id } = JSON.parse(res.text) as { id: string };
    const env = cleanEnv({ SKIFF_HOME: dataDir });
    const got = await runCli(['invocation', 'get', id, '--json', '--wait'], env);
    expect(got.code, got.stderr).toBe(0);
    const { invocation } = JSON.parse(got.stdout) as {
      invocation: { traceId: string; result: { body: string } };
    };
    expect(invocation.traceId).toBe(parent);
    const ran = JSON.parse(Buffer.from(invocation.result.body, 'base64').toString('utf8')) as Answer;
    expect(ran.traceId).toBe(parent);
    // an async call without a traceparent still has a trace, fixed at accept
    const plain = await send('/trace-b', { 'x-skiff-async': 'true' });
    const plainId = (JSON.parse(plain.text) as { id: string }).id;
    const view = await runCli(['invocation', 'get', plainId, '--json', '--wait'], env);
    const plainRecord = (
      JSON.parse(view.stdout) as { invocation: { traceId: string; result: { body: string } } }
    ).invocation;
    expect(plainRecord.traceId).toMatch(HEX32);
    const plainRun = JSON.parse(Buffer.from(plainRecord.result.body, 'base64').toString('utf8')) as Answer;
    expect(plainRun.traceId).toBe(plainRecord.traceId);
  }, 60_000);

  it('ignores a traceparent or tracestate that breaks the W3C rules, and starts a new trace', async () => {
    const id = TRACE_ID;
    const hostile: [string, Record<string, string | string[]>][] = [
      ['version ff', { traceparent: `ff-${id}-${PARENT_ID}-01` }],
      ['a trace id of zeros', { traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` }],
      ['a parent id of zeros', { traceparent: `00-${id}-${'0'.repeat(16)}-01` }],
      ['upper-case hex', { traceparent: `00-${id.toUpperCase()}-${PARENT_ID}-01` }],
      ['version 00 with more fields', { traceparent: `00-${id}-${PARENT_ID}-01-extra` }],
      ['a short trace id', { traceparent: `00-${id.slice(1)}-${PARENT_ID}-01` }],
      ['not hex', { traceparent: `00-${'g'.repeat(32)}-${PARENT_ID}-01` }],
      ['8 KiB of it', { traceparent: `00-${id}-${PARENT_ID}-01${'-x'.repeat(4000)}` }],
      ['two traceparent headers', { traceparent: [`00-${id}-${PARENT_ID}-01`, `00-${id}-${PARENT_ID}-01`] }],
    ];
    for (const [what, headers] of hostile) {
      const res = await send('/trace-b', headers);
      expect(res.status, `${what}: ${res.text}`).toBe(200);
      const b = JSON.parse(res.text) as Answer;
      expect(b.traceId, what).toMatch(HEX32);
      expect(b.traceId, what).not.toBe(id);
      expect(b.traceparent, what).not.toContain(PARENT_ID);
      expect(b.tracestate, what).toBe('');
    }
    // a valid traceparent with a tracestate too long or of too many members: the trace, no state
    const parent = `00-${id}-${PARENT_ID}-00`;
    for (const [what, state] of [
      ['over 512 characters', `a=${'b'.repeat(600)}`],
      ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ] as const) {
      const res = await send('/trace-b', { traceparent: parent, tracestate: state });
      const b = JSON.parse(res.text) as Answer;
      expect(b.traceId, what).toBe(id);
      // not sampled upstream: the flag is carried on as it came
      expect(b.traceparent, what).toMatch(new RegExp(`^00-${id}-[0-9a-f]{16}-00$`));
      expect(b.tracestate, what).toBe('');
    }
    // a later version is read as version 00 (its further fields ignored), as the W3C spec says
    const later = JSON.parse((await send('/trace-b', { traceparent: `01-${id}-${PARENT_ID}-01-more` })).text);
    expect((later as Answer).traceId).toBe(id);
  }, 60_000);

  it('exports one SERVER span per invocation, parented as the calls were, flushed by a graceful stop', async () => {
    expect(exports).toEqual([]); // the batch delay has not passed: nothing was sent before the stop
    serve?.child.kill('SIGTERM');
    if (serve !== undefined) await exited(serve.child);
    expect(serve?.child.exitCode).toBe(0);
    // the export loaded the SDK (what the test of tracing off checks is absent)
    expect(witnessed(path.join(dataDir, 'witness'))).toContain('@opentelemetry/sdk-trace');
    const all = spansOf();
    expect(exports.every((e) => e.contentType === 'application/json')).toBe(true);
    expect(all.every(({ resource }) => resource['service.name'] === 'skiff-under-test')).toBe(true);
    const inTrace = all.filter(({ span }) => span.traceId === TRACE_ID).map(({ span }) => span);
    const spanA = inTrace.find((s) => s.name === 'trace-a');
    const spanB = inTrace.find((s) => s.name === 'trace-b' && attr(s, 'skiff.trigger') === 'call');
    const spanC = inTrace.find((s) => s.name === 'trace-c');
    expect(spanA, JSON.stringify(inTrace)).toBeDefined();
    expect(spanB).toBeDefined();
    expect(spanC).toBeDefined();
    // A continues the client's span; B (called) and C (cast) are A's children
    expect(spanA?.parentSpanId).toBe(PARENT_ID);
    expect(spanA?.spanId).toBe(a.traceparent.slice(36, 52));
    expect(spanB?.parentSpanId).toBe(spanA?.spanId);
    expect(spanB?.spanId).toBe(a.b.traceparent.slice(36, 52));
    expect(spanC?.parentSpanId).toBe(spanA?.spanId);
    expect(spanA?.kind).toBe(2); // SPAN_KIND_SERVER
    expect(spanA?.traceState).toBe(TRACESTATE);
    expect(attr(spanA as OtlpSpan, 'faas.name')).toBe('trace-a');
    expect(attr(spanA as OtlpSpan, 'skiff.trigger')).toBe('http');
    expect(attr(spanA as OtlpSpan, 'skiff.outcome')).toBe('ok');
    expect(attr(spanA as OtlpSpan, 'http.response.status_code')).toBe(200);
    expect(attr(spanA as OtlpSpan, 'faas.version')).toBe('1');
    expect(attr(spanC as OtlpSpan, 'skiff.trigger')).toBe('cast');
    // the deploy started the instance: no cold start
    expect(attr(spanA as OtlpSpan, 'faas.coldstart')).toBe(false);
    // spans carry names, times and outcomes: no payload, header or tracestate sent by a client as data
    const text = JSON.stringify(exports);
    expect(text).not.toContain('from a');
    expect(text).not.toContain('traceparent');
    // the hostile calls made traces of their own; the unsampled ones were not exported
    expect(all.filter(({ span }) => span.name === 'trace-b').length).toBeGreaterThan(1);
  }, 60_000);
});

describe('tracing with the export off', () => {
  let off: ServeProcess | undefined;
  let offDir = '';

  afterAll(async () => {
    if (off !== undefined && off.child.exitCode === null) {
      off.child.kill('SIGKILL');
      await exited(off.child);
    }
    if (offDir !== '') await removeDir(offDir);
  });

  it('loads no OpenTelemetry SDK module, and still gives every invocation a trace', async () => {
    offDir = await makeDataDir();
    const witness = path.join(offDir, 'witness');
    off = await spawnServe(offDir, { env: { NODE_OPTIONS: WITNESS_HOOK, MODULE_WITNESS_FILE: witness } });
    const res = await deployTo(off, 'trace-b', fixture('trace-b'));
    expect(res.status, res.text).toBe(201);
    const answer = await fetch(`${off.http}/trace-b`, {
      method: 'POST',
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
    });
    expect(((await answer.json()) as Answer).traceId).toBe(TRACE_ID);
    off.child.kill('SIGTERM');
    await exited(off.child);
    expect(off.child.exitCode).toBe(0);
    expect(witnessed(witness)).toBe('');
  }, 120_000);
});
