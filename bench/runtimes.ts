/**
 * Skiff's runtimes under test, each with its hello world in `bench/functions/<runtime>/`. A runtime
 * that does not deploy (or does not answer hello) is reported as not available, not as a failure.
 */
import path from 'node:path';
import { BENCH } from './lib/paths.js';
import { HELLO, pack, type SkiffProcess } from './platform.js';
import type { SystemInfo } from './suites/types.js';

export interface SkiffRuntime {
  id: string;
  label: string;
  runtime: 'node' | 'python' | 'binary';
  /** The function's name on the platform. */
  fn: string;
  dir: string;
}

export const SKIFF_RUNTIMES: SkiffRuntime[] = (['node', 'python', 'binary'] as const).map((runtime) => ({
  id: `skiff-${runtime}`,
  label: `Skiff ${runtime}`,
  runtime,
  fn: `hello-${runtime}`,
  dir: path.join(BENCH, 'functions', runtime),
}));

function firstLine(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error !== undefined) return `${parsed.error.code ?? ''} ${parsed.error.message ?? ''}`.trim();
  } catch {
    // not JSON
  }
  return text.split('\n')[0]?.slice(0, 300) ?? '';
}

/** Deploys every runtime's hello world and checks that it answers; returns which ones work. */
export async function deployRuntimes(
  platform: SkiffProcess,
  runtimes: SkiffRuntime[] = SKIFF_RUNTIMES,
): Promise<{ runtime: SkiffRuntime; info: SystemInfo }[]> {
  const out: { runtime: SkiffRuntime; info: SystemInfo }[] = [];
  for (const runtime of runtimes) {
    const base = { id: runtime.id, label: runtime.label, kind: 'skiff' as const };
    try {
      const deployed = await platform.deploy(runtime.fn, await pack(runtime.dir));
      if (deployed.status >= 300) {
        const reason = `deploy answered ${deployed.status}: ${firstLine(deployed.body.toString())}`;
        out.push({ runtime, info: { ...base, available: false, reason } });
        continue;
      }
      const answer = await platform.call(runtime.fn);
      const ok = answer.status === 200 && answer.body.toString().includes(HELLO);
      out.push({
        runtime,
        info: ok
          ? { ...base, available: true }
          : {
              ...base,
              available: false,
              reason: `call answered ${answer.status}: ${firstLine(answer.body.toString())}`,
            },
      });
    } catch (err) {
      out.push({ runtime, info: { ...base, available: false, reason: (err as Error).message } });
    }
  }
  return out;
}
