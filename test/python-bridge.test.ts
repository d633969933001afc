import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'python-bridge');

/** Runs the check script against the bridge; resolves with its exit code and output, never rejects. */
function runCheck(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/python3',
      [
        path.join(FIXTURE, 'check.py'),
        path.join(ROOT, 'runtimes', 'python', 'bridge.py'),
        path.join(FIXTURE, 'fn'),
      ],
      { timeout: 30_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

describe('python bridge, driven over a socketpair', () => {
  it('cuts frames fed in pieces, answers each plain-function call once (also after a CANCEL and a reused id), and keeps logs and env per call', async () => {
    const { code, out } = await runCheck();
    expect(out.trim().split('\n').at(-1)).toBe('ok');
    expect(code).toBe(0);
  });
});
