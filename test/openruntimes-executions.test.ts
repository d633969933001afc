/**
 * The Open Runtimes executor API (compat.openruntimes) driven as upstream's executor clients drive it:
 * real HTTP with JSON and multipart parameters, real function folders written for upstream packed as
 * tar.gz into the executor's storage, builds in the build sandbox. The numbers in the test names are
 * the points of the acceptance list in docs/compat/openruntimes.md. This file: executions (reply forms, headers, failures, timeouts, logs, the request a function sees), for Node and Python.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartFields, type ExecutorPlatform } from './openruntimes/executor-client.js';
import {
  JSON_ACCEPT,
  prepareExecutor,
  type Outcome,
  type PreparedExecutor,
} from './openruntimes/executor-setup.js';

describe('Open Runtimes executor API: executions', () => {
  let e: ExecutorPlatform;
  let execute: PreparedExecutor['execute'];
  let prepared: PreparedExecutor | undefined;

  beforeAll(async () => {
    prepared = await prepareExecutor();
    ({ e, execute } = prepared);
  }, 180_000);

  afterAll(async () => {
    await prepared?.stop();
  });

  for (const id of ['node', 'py']) {
    describe(`${id === 'node' ? 'Node' : 'Python'} function`, () => {
      it('7: JSON with Accept application/json (also application/* in a list), else multipart', async () => {
        for (const accept of ['application/json', 'application/*', 'text/plain, application/json']) {
          const res = await e.call('POST', `/runtimes/${id}/executions`, {}, { headers: { accept } });
          expect(res.headers.get('content-type')).toBe('application/json');
          const outcome = res.json as Record<string, unknown>;
          expect(Object.keys(outcome)).toEqual([
            'statusCode',
            'headers',
            'body',
            'logs',
            'errors',
            'duration',
            'startTime',
          ]);
          expect(outcome['statusCode']).toBe(200);
          expect(JSON.parse(String(outcome['body']))).toMatchObject({
            message: 'Hello Open Runtimes 👋',
            built: id === 'node' ? 'npm run build' : 'python3 build.py',
            ...(id === 'py' ? { dependency: 'hello or from skiffdemo' } : {}),
          });
        }
        for (const headers of [
          {},
          { accept: 'application/xml' },
          { accept: '*/*' },
          { accept: 'text/plain' },
        ]) {
          const res = await e.call('POST', `/runtimes/${id}/executions`, { path: '/logs' }, { headers });
          expect(res.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
          const fields = await multipartFields(res);
          expect(fields['statusCode']?.toString()).toBe('200');
          expect(JSON.parse(fields['headers']?.toString() ?? 'null')).toEqual({
            'content-type': 'text/plain; charset=utf-8',
          });
          expect(fields['body']?.toString()).toBe('OK');
          expect(fields['logs']?.toString()).toContain('first log');
          expect(fields['errors']?.toString()).toContain('first error');
        }
      });

      it('8: a binary reply is 400 execution_bad_json as JSON and intact as multipart', async () => {
        const json = await e.call(
          'POST',
          `/runtimes/${id}/executions`,
          { path: '/binary' },
          { headers: JSON_ACCEPT },
        );
        expect(json.status).toBe(400);
        expect(json.json).toMatchObject({ type: 'execution_bad_json' });
        expect((json.json as { message: string }).message).toContain('JSON response does not allow binaries');
        const multipart = await e.call(
          'POST',
          `/runtimes/${id}/executions`,
          { path: '/binary' },
          { multipart: true },
        );
        const fields = await multipartFields(multipart);
        expect([...(fields['body'] ?? [])]).toEqual([0, 10, 255]);
      });

      it('10: a path without / gets one, HEAD has no body, a body "0" arrives', async () => {
        const seen = await execute(id, { path: 'req?x=1', method: 'POST', body: '0' });
        const req = JSON.parse(seen.body) as {
          path: string;
          body: string;
          method: string;
          query: Record<string, string>;
        };
        expect(req).toMatchObject({ path: '/req', body: '0', method: 'POST', query: { x: '1' } });
        const head = await execute(id, { path: '/req', method: 'HEAD' });
        expect(head.statusCode).toBe(200);
        expect(head.body).toBe('');
        // multipart parameters with a binary body arrive intact
        const res = await e.call(
          'POST',
          `/runtimes/${id}/executions`,
          { path: '/req', method: 'PUT', body: 'multi part body', headers: { 'x-demo': 'yes' } },
          { multipart: true, headers: JSON_ACCEPT },
        );
        const viaForm = JSON.parse((res.json as Outcome).body) as {
          body: string;
          headers: Record<string, string>;
        };
        expect(viaForm.body).toBe('multi part body');
        expect(viaForm.headers['x-demo']).toBe('yes');
      });

      it('11: a throw is statusCode 500 with an empty body and the stack in errors; a missing return is 500', async () => {
        const thrown = await execute(id, { path: '/throw' });
        expect(thrown.statusCode).toBe(500);
        expect(thrown.body).toBe('');
        expect(thrown.errors).toMatch(/open runtimes says no|or says no/);
        expect(thrown.logs).toContain('before the');
        const nothing = await execute(id, { path: '/nothing' });
        expect(nothing.statusCode).toBe(500);
        expect(nothing.body).toBe('');
        expect(nothing.errors).toContain('Return statement missing.');
      });

      it('12: past its timeout a run is statusCode 500 "Execution timed out." and keeps its earlier logs', async () => {
        const outcome = await execute(id, { path: '/slow?ms=3000', timeout: 1 });
        expect(outcome.statusCode).toBe(500);
        expect(outcome.body).toBe('');
        expect(outcome.errors).toContain('Execution timed out.');
        expect(outcome.logs).toContain('started slow');
        expect(outcome.duration).toBeLessThan(3);
      }, 30_000);

      it('16: a JSON body: empty is {} in body but bodyJson throws; invalid throws; {} echoes', async () => {
        const json = { 'content-type': 'application/json' };
        const empty = await execute(id, { path: '/json-body', method: 'POST', headers: json, body: '' });
        expect(empty.statusCode).toBe(200);
        expect(JSON.parse(empty.body)).toEqual({ body: {} });
        expect(
          (await execute(id, { path: '/body-json', method: 'POST', headers: json, body: '' })).statusCode,
        ).toBe(500);
        expect(
          (await execute(id, { path: '/json-body', method: 'POST', headers: json, body: '{x' })).statusCode,
        ).toBe(500);
        const object = await execute(id, { path: '/json-body', method: 'POST', headers: json, body: '{}' });
        expect(object.statusCode).toBe(200);
        expect(JSON.parse(object.body)).toEqual({ body: {} });
      });

      it('20: timeout 5 with a 4 s run succeeds; the environment holds CPUS, MEMORY and CI', async () => {
        const outcome = await execute(id, { path: '/slow?ms=4000', timeout: 5 });
        expect(outcome.statusCode).toBe(200);
        expect(outcome.body).toBe('slow done');
        const env = JSON.parse((await execute(id, { path: '/env' })).body) as Record<string, string>;
        expect(env).toMatchObject({ cpus: '1', memory: '512', ci: 'true' });
      }, 30_000);
    });
  }

  it('9: two set-cookie headers are an array with format 0.11.0, the last value before', async () => {
    const old = await execute('node', { path: '/cookies' });
    expect(old.headers['set-cookie']).toBe('b=2; HttpOnly');
    const res = await e.call(
      'POST',
      '/runtimes/node/executions',
      { path: '/cookies' },
      { headers: { ...JSON_ACCEPT, 'x-executor-response-format': '0.11.0' } },
    );
    expect((res.json as Outcome).headers['set-cookie']).toEqual(['a=1; HttpOnly', 'b=2; HttpOnly']);
  });

  it('13: logs cap at 5 MiB with the suffix; logging false logs nothing; long lines are cut', async () => {
    const big = await execute('node', { path: '/big-logs?mib=6', timeout: 60 });
    expect(big.logs.length).toBeGreaterThan(5 * 1024 * 1024);
    expect(big.logs.length).toBeLessThan(6 * 1024 * 1024);
    expect(big.logs.endsWith('\nLog file has been truncated to 5.00MB.')).toBe(true);
    const quiet = await execute('node', { path: '/logs', logging: false });
    expect(quiet.body).toBe('OK');
    expect(quiet.logs).toBe('');
    expect(quiet.errors).toBe('');
    const long = await execute('node', { path: '/long-line' });
    expect(long.logs).toContain(`${'y'.repeat(8000)}... Log truncated due to size limit (8000 characters)`);
    const native = await execute('node', { path: '/native' });
    expect(native.logs).toBe(
      'Native logs detected. Use context.log() or context.error() for better experience.\nnative one\nnative two\n',
    );
  }, 60_000);

  it('14: content types as upstream sends them', async () => {
    const type = async (route: string, headers: Record<string, string> = {}): Promise<Outcome> =>
      execute('node', { path: route, headers });
    expect((await type('/logs')).headers['content-type']).toBe('text/plain; charset=utf-8');
    const json = await type('/json');
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.body).toBe('{"a":1,"b":[1,2]}');
    expect((await type('/empty')).statusCode).toBe(204);
    const redirect = await type('/redirect');
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers['location']).toBe('https://example.com/next');
    for (const [given, sent] of [
      ['text/plain; charset=iso-8859-1', 'text/plain; charset=iso-8859-1'],
      ['multipart/form-data; boundary=x', 'multipart/form-data; boundary=x'],
      ['TEXT/HTML; charset=UTF-8', 'text/html; charset=utf-8'],
    ] as const) {
      expect((await type('/ctype', { 'x-type': given })).headers['content-type']).toBe(sent);
    }
  });

  it('15: the URL parts a function sees', async () => {
    for (const id of ['node', 'py']) {
      const seen = JSON.parse(
        (
          await execute(id, {
            path: '/req?c=d&e=f',
            headers: { 'x-forwarded-proto': 'https', host: 'h:3001' },
          })
        ).body,
      ) as { url: string; port: number; query: Record<string, string> };
      expect(seen.url).toBe('https://h:3001/req?c=d&e=f');
      expect(seen.port).toBe(3001);
      expect(seen.query).toEqual({ c: 'd', e: 'f' });
      const bare = JSON.parse((await execute(id, { path: '/req?h' })).body) as {
        query: Record<string, string>;
      };
      expect(bare.query).toEqual({ h: '' });
      const equals = JSON.parse((await execute(id, { path: '/req?a=b=c' })).body) as {
        query: Record<string, string>;
      };
      expect(equals.query).toEqual({ a: 'b=c' });
    }
  });
});
