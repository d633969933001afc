/**
 * A CALL carries a method and headers a function chose, not ones an HTTP parser checked: a hostile
 * caller must not be able to hand a callee's bridge a request no HTTP client could send (CR/LF or NUL
 * in a header, a header name or method that is no token). The http runtime's bridge passes them to
 * node:http, which throws; that took the callee's whole instance down, with every request in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { fixture, makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;
let dir: string;

/** A caller that makes one CALL to `victim` with the method and headers of its request's JSON body. */
const CALLER = answeringBridge(`
      const ask = JSON.parse(body.toString());
      const callId = 1000 + id;
      const onReply = (d) => {
        // the answer to our call (REPLY 13 or FAIL 14): hand it back as the result
        let rest = d;
        while (rest.length >= 13) {
          const len = rest.readUInt32BE(0);
          const kind = rest.readUInt8(4), fid = rest.readUInt32BE(5), ml = rest.readUInt32BE(9);
          if ((kind === 13 || kind === 14) && fid === callId) {
            sock.off('data', onReply);
            const m = JSON.parse(rest.subarray(13, 13 + ml).toString());
            sock.write(frame(5, id, { status: 200, headers: [['content-type', 'application/json']] },
              Buffer.from(JSON.stringify({ kind, meta: m }))));
            return;
          }
          rest = rest.subarray(len + 4);
        }
      };
      sock.on('data', onReply);
      sock.write(frame(12, callId, { invocationId: meta.invocationId, function: ask.victim ?? 'victim', method: ask.method, path: ask.path ?? '/', headers: ask.headers }));
`);

beforeAll(async () => {
  dir = await makeDataDir();
  p = await startPlatform({ config: { http: { host: '127.0.0.1', port: 0 } } });
  expect((await p.deploy('victim', fixture('http-node'))).status).toBe(201);
  expect((await p.deploy('binvictim', fixture('bin-echo'))).status).toBe(201);
  expect((await p.deploy('caller', await bridgeFunction(dir, 'caller', CALLER))).status).toBe(201);
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
  await removeDir(dir);
});

async function callWith(method: string, headers: [string, string][]) {
  const res = await p.call('/caller', { method: 'POST', body: JSON.stringify({ method, headers }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { kind: number; meta: { code?: string; status?: number } };
}

describe('a CALL with a request no HTTP client could send', () => {
  it.each([
    ['a header value with CR/LF', 'POST', [['x-a', 'b\r\nx-injected: 1']]],
    ['a header value with NUL', 'POST', [['x-a', 'b\u0000c']]],
    ['a header name that is no token', 'POST', [['x a', 'b']]],
    ['an empty header name', 'POST', [['', 'b']]],
    ['a method that is no token', 'GE T', []],
  ] as [string, string, [string, string][]][])(
    '%s is refused and the callee lives',
    async (_, method, headers) => {
      const before = await p.call('/victim/');
      expect(before.status).toBe(200);
      const answer = await callWith(method, headers);
      expect(answer).toMatchObject({ kind: 14, meta: { code: 'SKIFF_E_INVALID_REQUEST' } });
      const logs = await p.logs('victim');
      expect(logs.some((l) => /exited|crash/i.test(l.message))).toBe(false);
      expect((await p.call('/victim/')).status).toBe(200);
    },
  );

  it('a path with NUL does not take a program-per-request callee down', async () => {
    const res = await p.call('/caller', {
      method: 'POST',
      body: JSON.stringify({ method: 'POST', headers: [], victim: 'binvictim', path: '/a\u0000b?c=\u0000' }),
    });
    const answer = (await res.json()) as {
      kind: number;
      meta: { code?: string; status?: number; headers?: [string, string][] };
    };
    // the program cannot get NUL in its environment: the run fails, as a function error of the callee
    expect(answer).toMatchObject({ kind: 13, meta: { status: 500 } });
    expect(answer.meta.headers).toContainEqual(['x-skiff-error-code', 'SKIFF_E_FUNCTION_ERROR']);
    expect((await p.call('/binvictim/')).status).toBe(200);
  });

  it('an ordinary call still goes through', async () => {
    const answer = await callWith('put', [['x-a', 'b']]);
    expect(answer).toMatchObject({ kind: 13, meta: { status: 200 } });
  });
});
