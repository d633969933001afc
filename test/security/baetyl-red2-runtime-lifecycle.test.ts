/**
 * Red team (issue 17): a hostile external runtime (a `custom` function of flavor `baetyl`) that
 * ignores SIGTERM and starts a process in a session of its own must leave nothing behind when its
 * instance stops (here: the function is deleted). It held the delete for the whole retire grace
 * (30 s): nothing is in flight when the shim sends SIGTERM, so the runtime now gets at most 5 s.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

/** A gRPC server on the given address answering every call with an empty message. */
const RUNTIME = (marker: string) => `
const http2 = require('node:http2');
const { spawn } = require('node:child_process');
process.on('SIGTERM', () => process.stderr.write('SIGTERM ignored\\n'));
spawn('setsid', ['sleep', '${marker}'], { detached: true, stdio: 'ignore' }).unref();
const [host, port] = process.env.BAETYL_SERVICE_INSTANCE_ADDRESS.split(':');
const server = http2.createServer();
server.on('stream', (stream) => {
  stream.resume();
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
});
server.listen(Number(port), host);
`;

/** Pids of host processes whose command line holds `marker`. */
function withMarker(marker: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.each([
  ['bubblewrap', {}],
  ['no sandbox', { sandbox: { mode: 'none', insecureNoSandbox: true } }],
] as const)('%s', (_name, sandbox) => {
  let p: TestPlatform;
  let dir: string;
  const marker = String(31_000 + Math.floor(Math.random() * 9000) + (_name === 'bubblewrap' ? 0.5 : 0.25));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-red2-life-'));
    p = await startPlatform({
      config: { ...sandbox, compat: { baetyl: { enabled: true, proxy: { port: 0 } } } },
    });
  });
  afterAll(async () => {
    await p.stop();
    for (const pid of withMarker(marker)) process.kill(pid, 'SIGKILL');
    await removeDir(p.dataDir);
    await removeDir(dir);
  });

  it('a runtime ignoring SIGTERM with a setsid child leaves no process after delete', async () => {
    writeFileSync(path.join(dir, 'rt.js'), RUNTIME(marker));
    writeFileSync(
      path.join(dir, 'skiff.json'),
      JSON.stringify({ runtime: 'custom', flavor: 'baetyl', command: [process.execPath, 'rt.js'] }),
    );
    const res = await p.deploy('hostile-rt', dir);
    expect(res.status, await res.text()).toBe(201);
    const call = await p.call('/hostile-rt', { method: 'POST', body: 'x' });
    expect(call.status, await call.text()).toBe(200);
    expect(withMarker(marker).length).toBeGreaterThan(0);
    const t0 = Date.now();
    expect((await p.api('/v1/functions/hostile-rt', { method: 'DELETE' })).status).toBeLessThan(300);
    // SIGTERM is ignored: the shim gives it at most 5 s, not the whole grace (30 s by default)
    expect(Date.now() - t0).toBeLessThan(10_000);
    await waitUntil(`no process with ${marker}`, () => withMarker(marker).length === 0, 15_000);
    expect((await p.api('/v1/health')).status).toBe(200);
  }, 60_000);
});
