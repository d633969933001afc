import { describe, expect, it } from 'vitest';
import { RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, seccompFilter } from './seccomp.js';
import { SECCOMP_ARCHES } from './syscalls.js';

/** A classic-BPF interpreter for the few opcodes the filter uses, over one `struct seccomp_data`. */
function run(filter: Buffer, data: { nr: number; arch: number; args?: number[] }): number {
  const mem = Buffer.alloc(64);
  mem.writeInt32LE(data.nr, 0);
  mem.writeUInt32LE(data.arch, 4);
  (data.args ?? []).forEach((a, i) => mem.writeBigUInt64LE(BigInt(a), 16 + 8 * i));
  let acc = 0;
  for (let pc = 0, steps = 0; steps < 1000; steps++) {
    const code = filter.readUInt16LE(pc * 8);
    const jt = filter.readUInt8(pc * 8 + 2);
    const jf = filter.readUInt8(pc * 8 + 3);
    const k = filter.readUInt32LE(pc * 8 + 4);
    pc += 1;
    switch (code) {
      case 0x20:
        acc = mem.readUInt32LE(k);
        break;
      case 0x15:
        pc += acc === k ? jt : jf;
        break;
      case 0x35:
        pc += acc >= k ? jt : jf;
        break;
      case 0x45:
        pc += (acc & k) !== 0 ? jt : jf;
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`unknown opcode ${code}`);
    }
    if (pc * 8 >= filter.length) throw new Error('ran off the end');
  }
  throw new Error('no return');
}

const EPERM = RET_ERRNO | 1;
const ENOSYS = RET_ERRNO | 38;

describe.each(['x64', 'arm64'] as const)('seccomp filter (%s)', (arch) => {
  const table = SECCOMP_ARCHES[arch];
  if (table === undefined) throw new Error('no table');
  const filter = seccompFilter(arch, 'LE');
  if (filter === undefined) throw new Error('no filter');
  const call = (nr: number, args: number[] = []) => run(filter, { nr, arch: table.auditArch, args });

  it('denies every listed call with EPERM, whatever its arguments', () => {
    for (const [name, nr] of Object.entries(table.denied)) {
      expect(call(nr), name).toBe(EPERM);
      expect(call(nr, [1, 2, 3]), name).toBe(EPERM);
    }
  });

  it('allows ordinary calls (read, write, openat, the last number of each table)', () => {
    const ordinary = arch === 'x64' ? [0, 1, 257, 60, 231, 39] : [63, 64, 56, 93, 94, 172];
    for (const nr of ordinary) expect(call(nr), String(nr)).toBe(RET_ALLOW);
  });

  it('answers clone3 with ENOSYS and clone by its namespace flags', () => {
    expect(call(table.clone3)).toBe(ENOSYS);
    // what glibc's fork and pthread_create pass
    expect(call(table.clone, [0x01200011])).toBe(RET_ALLOW);
    expect(call(table.clone, [0x003d0f00])).toBe(RET_ALLOW);
    for (const flag of [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000])
      expect(call(table.clone, [flag | 17]), flag.toString(16)).toBe(EPERM);
  });

  it('denies TIOCSTI and TIOCLINUX, even with high bits set in the request, and allows other ioctls', () => {
    expect(call(table.ioctl, [0, 0x5412])).toBe(EPERM);
    expect(call(table.ioctl, [0, 0x541c])).toBe(EPERM);
    // the kernel reads an unsigned int: 0x1_00005412 is TIOCSTI too (Flatpak's CVE-2019-10063)
    expect(call(table.ioctl, [0, 0x100005412])).toBe(EPERM);
    expect(call(table.ioctl, [0, 0x5401])).toBe(RET_ALLOW); // TCGETS
  });

  it('allows only the default personalities', () => {
    for (const p of [0, 8, 0xffffffff]) expect(call(table.personality, [p])).toBe(RET_ALLOW);
    for (const p of [0x0040000, 0x0400000, 0x0020000]) expect(call(table.personality, [p])).toBe(EPERM);
  });

  it('denies socket and socketpair of AF_VSOCK and AF_KEY (high bits too), allows the other families', () => {
    for (const nr of [table.socket, table.socketpair]) {
      for (const family of [15, 40, 0x100000028])
        expect(call(nr, [family, 1, 0]), String(family)).toBe(EPERM);
      // AF_UNIX, AF_INET, AF_INET6, AF_NETLINK (getifaddrs)
      for (const family of [1, 2, 10, 16]) expect(call(nr, [family, 1, 0]), String(family)).toBe(RET_ALLOW);
    }
  });

  it('kills calls of another architecture (i386 on x86_64, arm32 on aarch64)', () => {
    for (const other of [0x40000003, 0x40000028])
      expect(run(filter, { nr: table.denied['add_key'] ?? 0, arch: other })).toBe(RET_KILL_PROCESS);
  });

  if (arch === 'x64') {
    it('kills x32 calls', () => {
      expect(call(0x40000000 | 248)).toBe(RET_KILL_PROCESS);
      expect(call(0x40000000)).toBe(RET_KILL_PROCESS);
    });
  }
});

it('has no filter for an architecture it does not know', () => {
  expect(seccompFilter('riscv64')).toBeUndefined();
});
