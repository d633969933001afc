# The platform's long-lived mount helper (src/sandbox/mount-helper.ts): started once, as root, when
# code slots open, it makes the mounts of code slots with mount(2) and umount2(2) directly, so that
# loading a function into a sandbox costs no `mount` process launches. One request per line on stdin,
# one answer per line on stdout, in order:
#   bind <ro|rw> <source> <stage> <target>   bind source at stage (read-only: remounted read-only,
#                                            nosuid, nodev), then move it onto target
#   umount <path>                            lazy unmount (MNT_DETACH); "not mounted" is no error
# Paths are hex-encoded bytes (any name survives). Answers: "ok" or "error <message>". It exits when
# stdin closes (the platform ended).
import ctypes
import os
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MNT_DETACH = 2

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def bind(mode, source, stage, target):
    check(libc.mount(source, stage, None, MS_BIND, None), "bind")
    try:
        if mode == "ro":
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
            check(libc.mount(None, stage, None, flags, None), "read-only remount")
        check(libc.mount(stage, target, None, MS_MOVE, None), "move")
    except OSError:
        libc.umount2(stage, MNT_DETACH)
        raise


def umount(target):
    if libc.umount2(target, MNT_DETACH) != 0:
        err = ctypes.get_errno()
        # EINVAL: not a mount point (any more); ENOENT: gone
        if err not in (22, 2):
            raise OSError(err, "umount: %s" % os.strerror(err))


def main():
    out = sys.stdout
    for line in sys.stdin:
        words = line.split()
        try:
            if len(words) == 5 and words[0] == "bind" and words[1] in ("ro", "rw"):
                bind(words[1], *(bytes.fromhex(w) for w in words[2:]))
            elif len(words) == 2 and words[0] == "umount":
                umount(bytes.fromhex(words[1]))
            else:
                raise ValueError("unknown request")
            out.write("ok\n")
        except (OSError, ValueError) as err:
            out.write("error %s\n" % str(err).replace("\n", " "))
        out.flush()


main()
