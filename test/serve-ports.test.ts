/**
 * `skiff serve` with taken ports: every listener is checked before any starts, and all the taken ones
 * are reported at once (SKIFF_E_PORT_IN_USE) with the flag and setting that move each; `--listeners`
 * leaves optional ones out. Real sockets hold the ports; the real CLI runs.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, startServe } from './helpers/cli.js';
import { makeDataDir, removeDir } from './helpers/platform.js';

let tcp: Server;
let udp: Socket;
let tcpPort: number;
let udpPort: number;
const dirs: string[] = [];

beforeAll(async () => {
  tcp = createServer();
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcp.address() as AddressInfo).port;
  udp = createSocket({ type: 'udp6', ipv6Only: false });
  await new Promise<void>((resolve) => udp.bind(0, '::', resolve));
  udpPort = udp.address().port;
});

afterAll(async () => {
  tcp?.close();
  udp?.close();
  for (const d of dirs) await removeDir(d);
});

async function dataDir(): Promise<string> {
  const d = await makeDataDir();
  dirs.push(d);
  return d;
}

describe('skiff serve and taken ports', () => {
  it('reports every taken port at once, with what moves each, and starts nothing', async () => {
    const dir = await dataDir();
    const r = await runCli(
      [
        'serve',
        '--data-dir',
        dir,
        '--sandbox',
        'none',
        '--control-port',
        String(tcpPort),
        '--http-port',
        '0',
        '--grpc-port',
        String(tcpPort),
        '--coap-port',
        String(udpPort),
        '--mqtt-port',
        '0',
      ],
      cleanEnv({}),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('code: SKIFF_E_PORT_IN_USE');
    expect(r.stderr).toContain("3 listeners' ports are not free, nothing was started");
    expect(r.stderr).toMatch(
      new RegExp(`control API on tcp 127\\.0\\.0\\.1:${tcpPort}: in use.*--control-port.*control\\.port`),
    );
    expect(r.stderr).toMatch(new RegExp(`gRPC trigger on tcp .*:${tcpPort}: .*--grpc-port.*--listeners`));
    expect(r.stderr).toMatch(
      new RegExp(`CoAP trigger on udp \\[::\\]:${udpPort}: in use.*--coap-port.*coap\\.port`),
    );
    expect(r.stderr).not.toContain('SKIFF_E_INTERNAL');
  });

  it('answers with JSON details for scripts', async () => {
    const dir = await dataDir();
    const r = await runCli(
      [
        'serve',
        '--json',
        '--data-dir',
        dir,
        '--sandbox',
        'none',
        '--control-port',
        '0',
        '--http-port',
        String(tcpPort),
        '--listeners',
        'none',
      ],
      cleanEnv({}),
    );
    expect(r.code).toBe(1);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; details: { conflicts: object[] } } };
    expect(error.code).toBe('SKIFF_E_PORT_IN_USE');
    expect(error.details.conflicts).toEqual([
      expect.objectContaining({
        listener: 'HTTP gateway',
        port: tcpPort,
        flag: '--http-port',
        setting: 'http.port',
      }),
    ]);
  });

  it('starts without the optional listeners left out of --listeners, though their ports are taken', async () => {
    const dir = await dataDir();
    const serve = startServe(
      [
        '--data-dir',
        dir,
        '--sandbox',
        'none',
        '--control-port',
        '0',
        '--http-port',
        '0',
        '--coap-port',
        String(udpPort),
        '--mqtt-port',
        String(tcpPort),
        '--grpc-port',
        '0',
        '--listeners',
        'grpc',
      ],
      cleanEnv({}),
    );
    try {
      await serve.waitForStdout('Press Ctrl+C', 20_000);
      expect(serve.stdout()).toMatch(/grpc\s+/);
      expect(serve.stdout()).not.toMatch(/coap\s+coap:/);
      expect(serve.stdout()).not.toMatch(/mqtt\s+mqtt:/);
    } finally {
      await serve.stop();
    }
  }, 30_000);

  it('refuses an unknown listener name as a usage error', async () => {
    const r = await runCli(['serve', '--listeners', 'grpc,ftp'], cleanEnv({}));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'ftp' is not an optional listener: use grpc, coap, mqtt or none");
  });
});
