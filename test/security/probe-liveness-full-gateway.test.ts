/**
 * Red team (issue 21, health probes): the Kubernetes manifest asked liveness (and the startup probe)
 * on the function port. That port refuses a new connection once its client address holds
 * `connections.maxPerAddress` connections (or the listener `http.maxConnections`), and the kubelet's
 * probes share an address with whatever else reaches the pod from the node (SNAT of a Service's
 * external traffic, a local proxy): a stranger holding the function port's slots made liveness fail,
 * and the kubelet restart the platform, again and again, killing the work in flight. Liveness must be
 * asked where a stranger cannot starve it: the control API, whose connections that did not prove the
 * token make way for a new one.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { makeDataDir, removeDir } from '../helpers/platform.js';
import { exited, spawnServe, type ServeProcess } from '../helpers/serve-process.js';

const CAP = 8;

interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  startupProbe: Probe;
}

function container(): Container {
  const file = path.join(ROOT, 'packaging', 'kubernetes', 'statefulset.yaml');
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const obj = doc.toJS() as { kind: string; spec: { template: { spec: { containers: Container[] } } } };
    if (obj.kind === 'StatefulSet') return obj.spec.template.spec.containers[0] as Container;
  }
  throw new Error('no StatefulSet');
}

/** Which of Skiff's listeners a probe of the manifest reaches: by the port's number in its env. */
function listenerOf(c: Container, probe: Probe): 'control' | 'http' {
  const port =
    typeof probe.httpGet.port === 'number'
      ? probe.httpGet.port
      : c.ports.find((p) => p.name === probe.httpGet.port)?.containerPort;
  const env = (name: string): number => Number(c.env.find((e) => e.name === name)?.value);
  if (port === env('SKIFF_CONTROL_PORT')) return 'control';
  if (port === env('SKIFF_HTTP_PORT')) return 'http';
  throw new Error(`probe port ${String(probe.httpGet.port)} is no listener of Skiff`);
}

/** Opens `n` connections that each start a request and never finish it. */
async function hold(base: string, n: number): Promise<Socket[]> {
  const { port } = new URL(base);
  const socks: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect({ port: Number(port), host: '127.0.0.1' });
    s.on('error', () => undefined);
    await new Promise((resolve) => s.once('connect', resolve));
    s.write('GET /some-function HTTP/1.1\r\nHost: x\r\n');
    socks.push(s);
  }
  return socks;
}

describe('liveness while a stranger holds the function port', () => {
  let dir: string;
  let serve: ServeProcess;
  beforeAll(async () => {
    dir = await makeDataDir();
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ connections: { maxPerAddress: CAP } }));
    serve = await spawnServe(dir, { args: ['--config', config] });
  });
  afterAll(async () => {
    serve.child.kill('SIGTERM');
    await exited(serve.child);
    await removeDir(dir);
  });

  it("answers the manifest's liveness and startup probes from the stranger's address", async () => {
    const c = container();
    const held = [...(await hold(serve.http, CAP)), ...(await hold(serve.control, CAP))];
    try {
      for (const probe of [c.livenessProbe, c.startupProbe]) {
        const base = listenerOf(c, probe) === 'control' ? serve.control : serve.http;
        const res = await fetch(`${base}${probe.httpGet.path}`, { signal: AbortSignal.timeout(5_000) });
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ status: 'live' });
      }
    } finally {
      for (const s of held) s.destroy();
    }
  });
});
