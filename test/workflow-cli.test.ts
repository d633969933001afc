/**
 * `skiff workflow apply|get|list|delete` (the built CLI, `node bin/skiff.js`) against a real platform.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderWith } from './helpers/tmp.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'skiff.js');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('skiff workflow against a running platform', () => {
  let p: TestPlatform;
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  /** Runs the CLI with only SKIFF_HOME of the SKIFF_* variables; never rejects. */
  const cli = (...args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { env, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          const code = (err as { code?: unknown } | null)?.code;
          resolve({ code: err === null ? 0 : typeof code === 'number' ? code : null, stdout, stderr });
        },
      );
    });
  const specFile = async (name: string, spec: unknown): Promise<string> => {
    const file = path.join(scratch, name);
    await writeFile(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
    return file;
  };

  beforeAll(async () => {
    // EDGELESS on: a workflow file in another platform's format goes through the same command
    p = await startPlatform({ config: { compat: { edgeless: { enabled: true } } } as never });
    await p.deployAll({ 'wf-in': 'echo-cjs', 'wf-out': 'echo-cjs' });
    scratch = await folderWith({});
    env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SKIFF_')));
    env['SKIFF_HOME'] = p.dataDir;
  });

  afterAll(async () => {
    await p?.stop();
    if (p) await removeDir(p.dataDir);
    if (scratch) await removeDir(scratch);
  });

  it('applies, replaces, shows, lists and deletes a workflow', async () => {
    const spec = { name: 'flow', functions: { 'wf-in': { output: ['wf-out'], errors: [] } } };
    const created = await cli('workflow', 'apply', await specFile('flow.json', spec));
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('✔ Created workflow flow (1 function) at version 1');
    expect(p.server.castTargets('wf-in', 'output')).toEqual(['wf-out']);

    const changed = { ...spec, functions: { 'wf-in': { output: [] }, 'wf-out': { done: ['wf-in'] } } };
    const replaced = await cli('workflow', 'apply', await specFile('flow.json', changed), '--json');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ name: 'flow', version: 2, created: false });
    expect(p.server.castTargets('wf-in', 'output')).toEqual([]);

    const shown = await cli('workflow', 'get', 'flow');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('Workflow flow, version 2');
    expect(shown.stdout).toMatch(/wf-in\s+output\s+\(nowhere\)/);
    expect(shown.stdout).toMatch(/wf-out\s+done\s+wf-in/);
    const asJson = await cli('workflow', 'get', 'flow', '--json');
    expect(JSON.parse(asJson.stdout)).toMatchObject({ functions: changed.functions });

    const listed = await cli('workflow', 'list');
    expect(listed.stdout).toMatch(/^NAME\s+FUNCTIONS\s+VERSION\s+UPDATED/m);
    expect(listed.stdout).toMatch(/^flow\s+wf-in, wf-out\s+2\s/m);

    const deleted = await cli('workflow', 'delete', 'flow');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('✔ Deleted workflow flow');
    expect((await cli('workflow', 'list')).stdout).toContain('No workflows.');
    expect(p.server.castTargets('wf-in', 'output')).toEqual(['output']);
  });

  it('prints refusals with their code: a bad field, a missing workflow, a file that is not JSON', async () => {
    const bad = await cli(
      'workflow',
      'apply',
      await specFile('bad.json', { name: 'bad', functions: { 'wf-in': { output: ['nobody'] } } }),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('functions.wf-in.output[0]: no function named "nobody"');
    expect(bad.stderr).toContain('code: SKIFF_E_INVALID_WORKFLOW');

    const missing = await cli('workflow', 'get', 'nothing', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'SKIFF_E_WORKFLOW_NOT_FOUND' } });

    const broken = await cli('workflow', 'apply', await specFile('broken.json', '{"name": '));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('is not JSON');
    const unnamed = await cli('workflow', 'apply', await specFile('unnamed.json', { functions: {} }));
    expect(unnamed.stderr).toContain('the spec needs a "name"');
  });

  it('applies a file in an enabled platform’s format, named by --name or by the file, with its warnings', async () => {
    const edgeless = {
      functions: [
        {
          name: 'ingest',
          class_specification: {
            id: 'ingest',
            function_type: 'CONTAINER',
            version: '1',
            code: 'skiff:wf-in',
            outputs: ['output'],
          },
          output_mapping: { output: 'audit', undeclared: 'audit' },
        },
      ],
      resources: [
        { name: 'audit', class_type: 'file-log', output_mapping: {}, configurations: { filename: 'a.log' } },
      ],
      annotations: {},
    };
    const file = await specFile('Sensor_Flow.json', edgeless);
    const byFile = await cli('workflow', 'apply', file);
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(byFile.stdout).toContain('✔ Created workflow sensor-flow (2 functions) at version 1');
    // a channel mapped but not declared is kept, with a warning naming it
    expect(byFile.stderr).toMatch(/⚠ .*undeclared/);
    expect(p.server.castTargets('wf-in', 'output')).toEqual(['sensor-flow--audit']);
    expect((await cli('workflow', 'delete', 'sensor-flow')).code).toBe(0);

    const named = await cli('workflow', 'apply', file, '--name', 'sensors', '--json');
    expect(named.code, named.stderr).toBe(0);
    expect(JSON.parse(named.stdout)).toMatchObject({
      name: 'sensors',
      functions: { 'wf-in': { output: ['sensors--audit'] } },
      warnings: [expect.stringContaining('undeclared') as string],
    });
    expect((await cli('workflow', 'delete', 'sensors')).code).toBe(0);
  });
});
