/**
 * The system calls a sandboxed function may not make, by number, for the architectures the seccomp
 * filter knows. Numbers are the kernel's (arch/x86/entry/syscalls/syscall_64.tbl for x86_64, the generic
 * table include/uapi/asm-generic/unistd.h for aarch64); calls added since 5.1 share one number on every
 * architecture. A deny-list misses calls the kernel adds later: review it with new kernels.
 */

/** What a denied call returns: EPERM for most, ENOSYS where libc must fall back (clone3 → clone). */
export type Denial = 'EPERM' | 'ENOSYS';

export interface SeccompArch {
  /** `AUDIT_ARCH_*`: the `arch` field of `struct seccomp_data` for native calls. */
  auditArch: number;
  /** x86_64 also runs x32 calls (number | 0x40000000) under the same `arch`: refused wholesale. */
  x32Bit: number | undefined;
  /** Calls denied whatever their arguments. */
  denied: Record<string, number>;
  /** Calls whose first argument (or second, for ioctl) decides; see seccomp.ts. */
  clone: number;
  clone3: number;
  ioctl: number;
  personality: number;
  /** socket() and socketpair(): their first argument (the address family) decides. */
  socket: number;
  socketpair: number;
}

/** Denied on every architecture, with the same (unified, 5.1+) numbers. */
const UNIFIED = {
  io_uring_setup: 425, // a second, mostly unfiltered path into the kernel; many of 2023's kernel CVEs
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428, // the new mount API
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  pidfd_getfd: 438, // takes another process's descriptor
  process_madvise: 440,
  mount_setattr: 442,
  quotactl_fd: 443,
  open_tree_attr: 467,
};

export const SECCOMP_ARCHES: Partial<Record<NodeJS.Architecture, SeccompArch>> = {
  x64: {
    auditArch: 0xc000003e, // AUDIT_ARCH_X86_64
    x32Bit: 0x40000000,
    denied: {
      // kernel keyrings: the key quota is per user, shared with every sandbox of the same host uid
      add_key: 248,
      request_key: 249,
      keyctl: 250,
      // reading or writing another process
      ptrace: 101,
      process_vm_readv: 310,
      process_vm_writev: 311,
      kcmp: 312,
      // mounts and namespaces (a way out of the sandbox's view)
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      chroot: 161,
      unshare: 272,
      setns: 308,
      // large kernel attack surface rarely needed by a function
      bpf: 321,
      perf_event_open: 298,
      userfaultfd: 323, // used to win kernel races
      open_by_handle_at: 304, // the "shocker" escape
      fanotify_init: 300,
      lookup_dcookie: 212,
      // the machine itself
      kexec_load: 246,
      kexec_file_load: 320,
      init_module: 175,
      finit_module: 313,
      delete_module: 176,
      acct: 163,
      swapon: 167,
      swapoff: 168,
      reboot: 169,
      syslog: 103,
      quotactl: 179,
      vhangup: 153,
      uselib: 134,
      iopl: 172,
      ioperm: 173,
      ...UNIFIED,
    },
    clone: 56,
    clone3: 435,
    ioctl: 16,
    personality: 135,
    socket: 41,
    socketpair: 53,
  },
  arm64: {
    auditArch: 0xc00000b7, // AUDIT_ARCH_AARCH64
    x32Bit: undefined,
    denied: {
      add_key: 217,
      request_key: 218,
      keyctl: 219,
      ptrace: 117,
      process_vm_readv: 270,
      process_vm_writev: 271,
      kcmp: 272,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      chroot: 51,
      unshare: 97,
      setns: 268,
      bpf: 280,
      perf_event_open: 241,
      userfaultfd: 282,
      open_by_handle_at: 265,
      fanotify_init: 262,
      lookup_dcookie: 18,
      kexec_load: 104,
      kexec_file_load: 294,
      init_module: 105,
      finit_module: 273,
      delete_module: 106,
      acct: 89,
      swapon: 224,
      swapoff: 225,
      reboot: 142,
      syslog: 116,
      quotactl: 60,
      vhangup: 58,
      ...UNIFIED,
    },
    clone: 220,
    clone3: 435,
    ioctl: 29,
    personality: 92,
    socket: 198,
    socketpair: 199,
  },
};

/** clone() flags that make a new namespace (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET). */
export const CLONE_NAMESPACE_FLAGS =
  0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** ioctl requests that push input into a terminal (TIOCSTI) or act on the console (TIOCLINUX). */
export const DENIED_IOCTLS = { TIOCSTI: 0x5412, TIOCLINUX: 0x541c };

/** personality() values allowed: PER_LINUX, PER_LINUX32, and the query 0xffffffff. */
export const ALLOWED_PERSONALITIES = [0x0, 0x8, 0xffffffff];

/**
 * Address families socket() and socketpair() refuse. AF_VSOCK reaches the hypervisor and the other
 * guests' host side (a Firecracker VM's vsock device): it belongs to no network namespace, so a sandbox
 * without a network would still have it. AF_KEY is IPsec key management, needed by no function.
 * AF_NETLINK stays allowed: libc's getifaddrs (and so ordinary name resolution code) uses it, and a
 * sandbox's netlink socket speaks to its own network namespace only (no interface but lo, no rights).
 */
export const DENIED_SOCKET_FAMILIES = { AF_KEY: 15, AF_VSOCK: 40 };
