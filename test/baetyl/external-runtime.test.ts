/**
 * External Baetyl / OpenEdge runtime processes (runtime `custom`, flavor `baetyl` or `openedge`), run
 * on the real platform in the real sandbox through runtimes/baetyl/shim.ts, with a fake runtime in
 * Python (test/fixtures/functions/baetyl-runtime) that starts as upstream's do and reports what it saw.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixture,
  makeDataDir,
  removeDir,
  startPlatform,
  type LogLine,
  type TestPlatform,
} from '../helpers/platform.js';
import { folderWith } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

interface Seen {
  argv: string[];
  config: {
    name: string;
    server: { address: string; message: { length: { max: number } } };
    functions: { name: string; handler: string; codedir: string }[];
  };
  env: Record<string, string | null>;
}
interface Reply {
  event: unknown;
  context: {
    messageQOS: number;
    messageTopic: string;
    messageTimestamp: number | null;
    functionName: string;
    functionInvokeID: string;
    service: string;
    seen: Seen;
  };
}

/** The fixture with its skiff.json changed (env, flavor, timeouts). */
async function variant(spec: Record<string, unknown>): Promise<string> {
  const dir = await folderWith({});
  await cp(fixture('baetyl-runtime'), dir, { recursive: true });
  const base = JSON.parse(await readFile(path.join(dir, 'skiff.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, 'skiff.json'), JSON.stringify({ ...base, ...spec }));
  return dir;
}

async function deployVariant(p: TestPlatform, name: string, spec: Record<string, unknown>) {
  const dir = await variant(spec);
  try {
    return await p.deploy(name, dir);
  } finally {
    await removeDir(dir);
  }
}

const hasLine = (logs: LogLine[], text: string) => logs.some((l) => l.message.includes(text));

describe('external Baetyl runtime processes', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({ 'ext-rt': 'baetyl-runtime' });
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('starts the command with -c <config file> and both address variables', async () => {
    const res = await p.call('/ext-rt', { method: 'POST', body: '{"n":1}' });
    expect(res.status).toBe(200);
    const { context } = (await res.json()) as Reply;
    const { argv, config, env } = context.seen;
    expect(argv[0]).toBe('-c');
    expect(argv).toHaveLength(2);
    expect(config.name).toBe('ext-rt');
    expect(config.functions).toEqual([
      { name: 'ext-rt', handler: 'index.handler', codedir: expect.any(String) as string },
    ]);
    expect(config.server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(config.server.message.length.max).toBeGreaterThan(0);
    for (const key of [
      'BAETYL_SERVICE_INSTANCE_ADDRESS',
      'OPENEDGE_SERVICE_INSTANCE_ADDRESS',
      'OPENEDGE_SERVICE_ADDRESS',
    ]) {
      expect(env[key]).toBe(config.server.address);
    }
    expect(env['BAETYL_SERVICE_INSTANCE_NAME']).toBe('ext-rt');
    expect(env['OPENEDGE_SERVICE_INSTANCE_NAME']).toBe('ext-rt');
    // the runtime listens in the sandbox's own network namespace: not on the host's loopback
    const [host, port] = config.server.address.split(':');
    const reached = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: host as string, port: Number(port) });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    expect(reached).toBe(false);
    // the shim's own variables stay with the shim
    expect(env['SKIFF_COMMAND']).toBeNull();
    expect(env['SKIFF_PROTOCOL_FD']).toBeNull();
  });

  it("gives the runtime Baetyl's default handler index.handler when the spec names none", async () => {
    expect((await deployVariant(p, 'ext-rt-default', { handler: undefined })).status).toBe(201);
    const res = await p.call('/ext-rt-default', { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    const { config } = ((await res.json()) as Reply).context.seen;
    expect(config.functions[0]?.handler).toBe('index.handler');
  });

  it('calls baetyl.Function/Call with the payload and the MQTT headers, and answers with its payload', async () => {
    const res = await p.call('/ext-rt', {
      method: 'POST',
      headers: { 'mqtt-qos': '1', 'mqtt-topic': 'a%2Fb' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const invocationId = res.headers.get('x-skiff-invocation-id');
    const reply = (await res.json()) as Reply;
    expect(reply.event).toEqual({ hello: 'world' });
    expect(reply.context).toMatchObject({
      service: 'baetyl.Function',
      messageQOS: 1,
      messageTopic: 'a/b',
      functionName: 'ext-rt',
      functionInvokeID: invocationId,
    });
    expect(Math.abs((reply.context.messageTimestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('takes the message fields from a baetyl-context header', async () => {
    const context = { messageQOS: 0, messageTopic: 't/x', messageTimestamp: 1234, functionInvokeID: 'inv-7' };
    const res = await p.call('/ext-rt', {
      method: 'POST',
      headers: { 'baetyl-context': JSON.stringify(context) },
      body: 'raw text',
    });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as Reply;
    expect(reply.event).toBe('raw text');
    expect(reply.context).toMatchObject({
      messageTopic: 't/x',
      messageTimestamp: 1234,
      functionInvokeID: 'inv-7',
      functionName: 'ext-rt',
    });
  });

  it('answers an empty payload with 200 and an empty body', async () => {
    const res = await p.call('/ext-rt', { method: 'POST', body: '{"nothing":true}' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('maps an error of the runtime to 500 with baetyl-error UserCodeInvoke and its details', async () => {
    const res = await p.call('/ext-rt', { method: 'POST', body: '{"fail":true}' });
    expect(res.status).toBe(500);
    expect(res.headers.get('baetyl-error')).toBe('UserCodeInvoke');
    const text = await res.text();
    expect(text).toContain('[UserCodeInvoke]');
    expect(text).toContain('boom');
  });

  it('falls back to runtime.Runtime/Handle for a 0.1.1 runtime (flavor openedge)', async () => {
    const res = await deployVariant(p, 'ext-rt-011', {
      flavor: 'openedge',
      env: { FAKE_SERVICES: 'runtime' },
    });
    expect(res.status).toBe(201);
    const call = await p.call('/ext-rt-011', {
      method: 'POST',
      headers: { 'mqtt-topic': 'old/topic' },
      body: '{"v":11}',
    });
    expect(call.status).toBe(200);
    const reply = (await call.json()) as Reply;
    expect(reply.event).toEqual({ v: 11 });
    expect(reply.context).toMatchObject({ service: 'runtime.Runtime', messageTopic: 'old/topic' });
  });

  it('starts a 0.1.1 runtime again with its configuration as JSON in -c when it rejects a file', async () => {
    const res = await deployVariant(p, 'ext-rt-inline', {
      flavor: 'openedge',
      env: { FAKE_SERVICES: 'runtime', FAKE_INLINE: '1' },
    });
    expect(res.status).toBe(201);
    const call = await p.call('/ext-rt-inline', { method: 'POST', body: '{"v":"inline"}' });
    expect(call.status).toBe(200);
    const reply = (await call.json()) as Reply;
    expect(reply.event).toEqual({ v: 'inline' });
    const [flag, inline] = reply.context.seen.argv;
    expect(flag).toBe('-c');
    expect(JSON.parse(inline ?? '')).toMatchObject({ name: 'ext-rt-inline' });
    expect(reply.context.seen.config.functions[0]).toMatchObject({ name: 'ext-rt-inline' });
  });

  it('refuses a runtime that exits at once or never listens, and keeps serving the others', async () => {
    const exits = await deployVariant(p, 'ext-rt-exits', { env: { FAKE_MODE: 'exit' } });
    const exitsBody = (await exits.json()) as { error?: { code: string; message: string } };
    // a deploy starts an instance before the version goes live
    expect(exits.status).toBe(422);
    expect(exitsBody.error?.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(exitsBody.error?.message).toContain('the runtime exited (exit code 3) before it listened');

    const silent = await deployVariant(p, 'ext-rt-silent', {
      env: { FAKE_MODE: 'silent' },
      startTimeoutMs: 1500,
    });
    const silentBody = (await silent.json()) as { error?: { code: string; message: string } };
    expect(silent.status).toBe(422);
    expect(silentBody.error?.code).toBe('SKIFF_E_BUILD_FAILED');
    expect(silentBody.error?.message).toContain('did not become ready within 1500 ms');

    const ok = await p.call('/ext-rt', { method: 'POST', body: '{"still":"here"}' });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Reply).event).toEqual({ still: 'here' });
  });

  it('answers a call 502 SKIFF_E_INSTANCE_START_FAILED when the runtime stops starting', async () => {
    expect((await deployVariant(p, 'ext-rt-late', {})).status).toBe(201);
    expect((await p.call('/ext-rt-late', { method: 'POST', body: '{}' })).status).toBe(200);
    // a secret is read when an instance starts; changing one restarts the instances
    const put = await p.api('/v1/functions/ext-rt-late/secrets/FAKE_MODE', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'exit' }),
    });
    expect(put.status).toBe(204);
    const res = await p.call('/ext-rt-late', { method: 'POST', body: '{}' });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SKIFF_E_INSTANCE_START_FAILED');
    expect(body.error.message).toContain('the runtime exited (exit code 3) before it listened');
    expect((await p.call('/ext-rt', { method: 'POST', body: '{}' })).status).toBe(200);
  });

  it('answers 504 when the runtime outlives the timeout, and the next call still goes through', async () => {
    expect((await deployVariant(p, 'ext-rt-slow', { timeoutMs: 500 })).status).toBe(201);
    const slow = await p.call('/ext-rt-slow', { method: 'POST', body: '{"sleep":2}' });
    expect(slow.status).toBe(504);
    expect(((await slow.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_TIMEOUT');
    const next = await p.call('/ext-rt-slow', { method: 'POST', body: '{"n":2}' });
    expect(next.status).toBe(200);
    expect(((await next.json()) as Reply).event).toEqual({ n: 2 });
  });

  it('reports a runtime that dies during a call as the crash of its instance, then starts a new one', async () => {
    const res = await p.call('/ext-rt', { method: 'POST', body: '{"die":7}' });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_INSTANCE_CRASHED');
    await waitFor('the shim reporting the exit', async () =>
      hasLine(await p.logs('ext-rt'), 'the runtime exited (exit code 7)') ? true : undefined,
    );
    const again = await p.call('/ext-rt', { method: 'POST', body: '{"after":"crash"}' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as Reply).event).toEqual({ after: 'crash' });
  });

  it('SIGTERMs the runtime when its instance stops (a redeploy), and the runtime exits 0', async () => {
    const first = await deployVariant(p, 'ext-rt-stop', {});
    expect(first.status).toBe(201);
    expect((await p.call('/ext-rt-stop', { method: 'POST', body: '{}' })).status).toBe(200);
    const second = await deployVariant(p, 'ext-rt-stop', { env: { V: '2' } });
    expect([200, 201]).toContain(second.status);
    await waitFor('the SIGTERM and exit lines of version 1', async () => {
      const logs = (await p.logs('ext-rt-stop')).filter((l) => l.version === 1);
      const stopped =
        hasLine(logs, 'fake-runtime: SIGTERM received, exiting 0') &&
        hasLine(logs, 'the runtime stopped on SIGTERM (exit code 0)');
      return stopped ? true : undefined;
    });
  });
});

describe('external Baetyl runtime processes on platform stop', () => {
  it('SIGTERMs the runtime and sees it exit 0', async () => {
    const dataDir = await makeDataDir();
    try {
      const p = await startPlatform({ dataDir });
      await p.deployAll({ 'ext-rt': 'baetyl-runtime' });
      expect((await p.call('/ext-rt', { method: 'POST', body: '{}' })).status).toBe(200);
      await p.stop();
      const again = await startPlatform({ dataDir });
      try {
        const logs = await again.logs('ext-rt');
        expect(hasLine(logs, 'fake-runtime: SIGTERM received, exiting 0')).toBe(true);
        expect(hasLine(logs, 'the runtime stopped on SIGTERM (exit code 0)')).toBe(true);
      } finally {
        await again.stop();
      }
    } finally {
      await removeDir(dataDir);
    }
  });
});
