/**
 * The packaging files, checked by the tools that can check them here: `systemd-analyze verify` for the
 * systemd unit, a Dockerfile linter (dockerfile-utils) for the Containerfile and the Kubernetes
 * schemas (kubernetes-models) for the manifests. No container engine or cluster runs here, so the
 * last two are linted, never run (docs/operations.md says so).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONTROL_PROBES, GATEWAY_PROBES } from '../src/shared/health-http.js';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);
const PACKAGING = path.join(ROOT, 'packaging');
const UNIT = path.join(PACKAGING, 'systemd', 'skiff.service');
const CONTAINERFILE = path.join(PACKAGING, 'container', 'Containerfile');
const MANIFESTS = path.join(PACKAGING, 'kubernetes');

const SYSTEMD_ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

/** A development dependency loaded by name (kubernetes-models, dockerfile-utils): undefined when missing. */
/** A devDependency the lint needs: its absence fails the test (npm ci installs it). */
async function required<T>(specifier: string): Promise<T> {
  return (await import(specifier)) as T;
}

type Model = new (data: unknown) => { validate(): void };
interface DockerfileUtils {
  validate(content: string): { message: string; severity: number; range: { start: { line: number } } }[];
}

describe('the systemd unit', () => {
  // scripts/setup.sh installs Debian's systemd (which has systemd-analyze) where it is missing
  it.skipIf(SYSTEMD_ANALYZE === undefined)(
    'passes systemd-analyze verify (skipped only where systemd-analyze cannot be installed)',
    async () => {
      const analyze = SYSTEMD_ANALYZE as string;
      const { stderr } = await run(analyze, ['verify', UNIT]);
      expect(stderr).toBe('');
      const unit = readFileSync(UNIT, 'utf8');
      expect(unit).toMatch(/^User=skiff$/m);
      expect(unit).toMatch(/^StateDirectory=skiff$/m);
      expect(unit).toMatch(/^Environment=SKIFF_HOME=\/var\/lib\/skiff$/m);
      expect(unit).toMatch(/^Delegate=yes$/m);
      expect(unit).toMatch(/^ExecStart=.*skiff serve$/m);
      // the verifier does find faults: the same unit with a misspelt section fails
      const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-unit-'));
      try {
        const broken = path.join(dir, 'skiff.service');
        await writeFile(broken, unit.replace('[Service]', '[Servce]'));
        await expect(run(analyze, ['verify', broken])).rejects.toThrow();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('the Containerfile and the Kubernetes manifests', () => {
  it('pass a Dockerfile linter (dockerfile-utils)', async () => {
    const utils = await required<DockerfileUtils>('dockerfile-utils');
    const content = readFileSync(CONTAINERFILE, 'utf8');
    expect(utils.validate(content).map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
    // the linter does find faults
    expect(utils.validate(`${content}\nEXPOSE not-a-port\n`)).not.toEqual([]);
    // its health check asks the function port's readiness probe
    expect(content).toContain(GATEWAY_PROBES.ready);
  });

  it('match the Kubernetes API schemas (kubernetes-models), with probes on the health endpoints', async () => {
    const apps = await required<Record<string, Model>>('kubernetes-models/apps/v1');
    const core = await required<Record<string, Model>>('kubernetes-models/v1');
    const files = readdirSync(MANIFESTS).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(['service.yaml', 'statefulset.yaml']);
    const objects = files.flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(MANIFESTS, f), 'utf8')).map((d) => ({
        file: f,
        obj: d.toJS() as { apiVersion: string; kind: string; spec: unknown },
      })),
    );
    const statefulSet = objects.find((o) => o.obj.kind === 'StatefulSet')?.obj as unknown as {
      spec: {
        template: { spec: { containers: Record<string, { httpGet: { path: string } }>[] } };
        volumeClaimTemplates: unknown[];
      };
    };
    const container = statefulSet.spec.template.spec.containers[0];
    // liveness on the control API (test/security/probe-liveness-full-gateway.test.ts)
    expect(container?.['livenessProbe']?.httpGet.path).toBe(CONTROL_PROBES.live);
    expect(container?.['readinessProbe']?.httpGet.path).toBe(GATEWAY_PROBES.ready);
    expect(statefulSet.spec.volumeClaimTemplates).toHaveLength(1);
    for (const { file, obj } of objects) {
      const model = (obj.apiVersion === 'v1' ? core : apps)[obj.kind];
      expect(model, `${file}: ${obj.apiVersion} ${obj.kind} is known`).toBeDefined();
      expect(() => new (model as Model)(obj).validate(), file).not.toThrow();
    }
    // the validator does find faults
    const broken = structuredClone(statefulSet) as unknown as { spec: { replicas: unknown } };
    broken.spec.replicas = 'one';
    expect(() => new (apps['StatefulSet'] as Model)(broken).validate()).toThrow();
  });
});
