/**
 * The seccomp filter of every sandbox: a classic-BPF program (the form bubblewrap's `--seccomp FD`
 * loads with PR_SET_SECCOMP) that denies the calls of syscalls.ts and allows the rest. Built here rather
 * than with libseccomp so that the platform needs nothing more installed. The program:
 *
 *   ld  arch                 ; another architecture's calls (i386 via int 0x80, arm32) → kill
 *   jne NATIVE → kill
 *   ld  nr
 *   jge 0x40000000 → kill    ; x86_64 only: x32 calls have their own numbers
 *   jeq <each denied> → eperm
 *   jeq clone3 → enosys      ; its flags sit in memory a filter cannot read; libc falls back to clone
 *   jeq clone → clone:       ; deny namespace flags (low 32 bits of arg 0; the kernel reads only those)
 *   jeq ioctl → ioctl:       ; deny TIOCSTI and TIOCLINUX (arg 1 is an unsigned int: low 32 bits only)
 *   jeq personality → pers:  ; only PER_LINUX, PER_LINUX32 and the query
 *   jeq socket, socketpair → socket: ; deny AF_VSOCK and AF_KEY (arg 0, an int: low 32 bits only)
 *   ret allow
 */
import { writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import {
  ALLOWED_PERSONALITIES,
  CLONE_NAMESPACE_FLAGS,
  DENIED_IOCTLS,
  DENIED_SOCKET_FAMILIES,
  SECCOMP_ARCHES,
  type SeccompArch,
} from './syscalls.js';

// struct sock_filter opcodes (linux/filter.h)
const LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K

// return values (linux/seccomp.h)
export const RET_KILL_PROCESS = 0x80000000;
export const RET_ERRNO = 0x00050000;
export const RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;

/** One instruction; a jump names its targets by label, resolved when the program is assembled. */
interface Insn {
  code: number;
  k: number;
  jt?: string;
  jf?: string;
  label?: string;
}

/** Offsets in struct seccomp_data: nr (int), arch (u32), instruction_pointer (u64), args[6] (u64). */
function offsets(endianness: 'LE' | 'BE') {
  const low = endianness === 'LE' ? 0 : 4;
  return { nr: 0, arch: 4, argLow: (i: number) => 16 + 8 * i + low };
}

function program(arch: SeccompArch, endianness: 'LE' | 'BE'): Insn[] {
  const off = offsets(endianness);
  const ld = (k: number, label?: string): Insn => ({ code: LD_W_ABS, k, ...(label ? { label } : {}) });
  const jeq = (k: number, jt: string | undefined, jf?: string): Insn => ({
    code: JEQ_K,
    k,
    ...(jt ? { jt } : {}),
    ...(jf ? { jf } : {}),
  });
  const ret = (k: number, label?: string): Insn => ({ code: RET_K, k, ...(label ? { label } : {}) });
  const p: Insn[] = [ld(off.arch), jeq(arch.auditArch, undefined, 'kill'), ld(off.nr)];
  if (arch.x32Bit !== undefined) p.push({ code: JGE_K, k: arch.x32Bit, jt: 'kill' });
  for (const nr of [...new Set(Object.values(arch.denied))].sort((a, b) => a - b)) p.push(jeq(nr, 'eperm'));
  p.push(
    jeq(arch.clone3, 'enosys'),
    jeq(arch.clone, 'clone'),
    jeq(arch.ioctl, 'ioctl'),
    jeq(arch.personality, 'personality'),
    jeq(arch.socket, 'socket'),
    jeq(arch.socketpair, 'socket'),
    ret(RET_ALLOW),
    ld(off.argLow(0), 'clone'),
    { code: JSET_K, k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'allow' },
    ld(off.argLow(1), 'ioctl'),
    ...Object.values(DENIED_IOCTLS).map((req) => jeq(req, 'eperm')),
    ret(RET_ALLOW),
    ld(off.argLow(0), 'personality'),
    ...ALLOWED_PERSONALITIES.map((value) => jeq(value, 'allow')),
    ret(RET_ERRNO | EPERM),
    ld(off.argLow(0), 'socket'),
    ...Object.values(DENIED_SOCKET_FAMILIES).map((family) => jeq(family, 'eperm')),
    ret(RET_ALLOW),
    ret(RET_ERRNO | EPERM, 'eperm'),
    ret(RET_ALLOW, 'allow'),
    ret(RET_ERRNO | ENOSYS, 'enosys'),
    ret(RET_KILL_PROCESS, 'kill'),
  );
  return p;
}

/** Resolves labels into forward offsets and encodes `struct sock_filter[]` in the machine's byte order. */
function assemble(insns: Insn[], endianness: 'LE' | 'BE'): Buffer {
  const at = new Map<string, number>();
  insns.forEach((insn, i) => {
    if (insn.label !== undefined) at.set(insn.label, i);
  });
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    const jump = (label: string | undefined): number => {
      if (label === undefined) return 0;
      const target = at.get(label);
      const offset = target === undefined ? -1 : target - i - 1;
      // classic BPF jumps go forward only, at most 255 instructions
      if (offset < 0 || offset > 255) throw new Error(`seccomp: cannot jump from ${i} to ${label}`);
      return offset;
    };
    const base = i * 8;
    if (endianness === 'LE') {
      out.writeUInt16LE(insn.code, base);
      out.writeUInt32LE(insn.k >>> 0, base + 4);
    } else {
      out.writeUInt16BE(insn.code, base);
      out.writeUInt32BE(insn.k >>> 0, base + 4);
    }
    out.writeUInt8(jump(insn.jt), base + 2);
    out.writeUInt8(jump(insn.jf), base + 3);
  });
  return out;
}

/** The filter for an architecture (Node's `process.arch` name), or undefined when none is known. */
export function seccompFilter(
  arch: string = process.arch,
  endianness: 'LE' | 'BE' = os.endianness(),
): Buffer | undefined {
  const known = SECCOMP_ARCHES[arch as NodeJS.Architecture];
  return known === undefined ? undefined : assemble(program(known, endianness), endianness);
}

/** Writes this machine's filter to `file` (owner-only) for enter.sh to open; false when there is none. */
export function writeSeccompFilter(file: string): boolean {
  const filter = seccompFilter();
  if (filter === undefined) return false;
  writeFileSync(`${file}.tmp`, filter, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return true;
}
