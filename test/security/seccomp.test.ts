/**
 * The seccomp filter, attacked from inside real sandboxes: a Python function makes, through libc's
 * syscall(), the calls the filter denies (kernel keys, ptrace, the mount APIs, namespaces, bpf, perf,
 * userfaultfd, io_uring, modules, kexec, reboot, syslog, TIOCSTI, personality), with arguments that
 * without the filter would succeed or fail otherwise; ordinary functions keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

const EPERM = 1;
const ENOSYS = 38;

describe('security: seccomp filter in every sandbox', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      syscalls: 'py-syscalls',
      flooder: 'py-syscalls',
      node: 'probe',
      python: 'py-echo',
      binary: 'bin-echo',
    });
  });
  afterAll(async () => {
    await p.stop();
  });

  const json = async (route: string) => {
    const res = await p.call(route);
    expect(res.status, route).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };

  it('denies every dangerous call: EPERM, and ENOSYS for clone3 (libc falls back to clone)', async () => {
    const results = (await json('/syscalls?do=all')) as Record<string, [number | string, number]>;
    expect(Object.keys(results).length).toBeGreaterThan(35);
    const wrong = Object.entries(results).filter(([name, [ret, errno]]) =>
      name === 'clone3' ? !(ret === -1 && errno === ENOSYS) : !(ret === -1 && errno === EPERM),
    );
    expect(wrong).toEqual([]);
  });

  it('a flood of add_key in one function gets EPERM every time, and so does the next function', async () => {
    const flood = (await json('/flooder?do=add_key&n=300')) as { results: [number, number][] };
    expect(flood.results).toHaveLength(300);
    expect(flood.results.every(([ret, errno]) => ret === -1 && errno === EPERM)).toBe(true);
    const other = (await json('/syscalls?do=add_key&n=1')) as { results: [number, number][] };
    expect(other.results).toEqual([[-1, EPERM]]);
  });

  it('leaves ordinary functions working: threads and child processes, node, python and binaries', async () => {
    expect(await json('/syscalls?do=normal')).toMatchObject({ thread: ['thread'], child: 'child' });
    expect(await json('/node?do=status')).toMatchObject({ noNewPrivs: '1' });
    expect(await json('/python?x=1')).toMatchObject({ query: { x: '1' } });
    const bin = await p.call('/binary', { method: 'POST', body: 'hello' });
    expect(bin.status).toBe(200);
    expect(await bin.text()).toBe('hello');
  });

  it('is in force in the function’s process (Seccomp: 2, filter mode, in its status)', async () => {
    expect(await json('/node?do=status')).toMatchObject({ seccomp: '2', noNewPrivs: '1' });
  });
});
