#!/bin/bash
# Enters an instance's limits, then becomes the sandbox (README "Sandbox"):
#   enter.sh <nofile> <fsize-KiB> <seccomp-filter|-> [cgroup.procs ...] -- <command> [args ...]
# 1. joins every cgroup given, so the sandbox and all it starts are inside before any code runs;
# 2. sets RLIMIT_NOFILE and RLIMIT_FSIZE (ignoring SIGXFSZ, so an oversized write fails with EFBIG);
# 3. closes every inherited file descriptor but 0-2, 3 (the runtime protocol socket) and, when given,
#    4 and 5 (bubblewrap's --info-fd and --block-fd of an instance with a private network; bubblewrap
#    closes both before the function starts);
# 4. opens the seccomp filter (a compiled BPF program) as fd 10, for `bwrap --seccomp 10`, which reads
#    and closes it before the function starts: opened here, as the platform's user, because the file is
#    owner-only and the command may switch to the sandbox's own user (setpriv) first;
# 5. execs the command (bwrap).
set -e
nofile=$1
fsize=$2
seccomp=$3
shift 3
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  echo $$ >"$1"
  shift
done
shift
ulimit -n "$nofile"
ulimit -f "$fsize"
# past the file size limit a write fails with EFBIG instead of killing the process (SIGXFSZ)
trap '' XFSZ
for entry in /proc/$$/fd/*; do
  fd=${entry##*/}
  case $fd in 0 | 1 | 2 | 3 | 4 | 5) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done
if [ "$seccomp" != "-" ]; then exec 10<"$seccomp"; fi
exec "$@"
