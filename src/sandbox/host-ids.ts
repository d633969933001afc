/**
 * The host user and group sandboxes run as (when the platform is root). Every sandbox gets a uid of its
 * own from a dedicated range, so that nothing kept per user by the kernel (key quota, RLIMIT_NPROC,
 * inotify and signal counts, user namespaces) is shared between two functions, and so that a sandbox
 * owns no file on the host. All share one group, the range's first id: function code is readable by that
 * group and by nobody else (see store/data-dir.ts).
 *
 *   gid = base            the group of every sandbox
 *   uid = base + 1 ...    one per running sandbox, handed out oldest-released first
 */
import { readFileSync } from 'node:fs';
import { SkiffError } from '../shared/errors.js';

/** How many ids the range spans (the group and COUNT - 1 sandbox users). */
export const HOST_ID_COUNT = 65_536;

export interface HostIdentity {
  uid: number;
  gid: number;
  /** Gives the uid back; call once, after every process of the sandbox is gone. */
  release(): void;
}

/** The ids of `/etc/<file>` (passwd, group: field 3) or subordinate ranges (subuid, subgid) in the range. */
function clashes(file: string, base: number): string[] {
  let text: string;
  try {
    text = readFileSync(`/etc/${file}`, 'utf8');
  } catch {
    return [];
  }
  const end = base + HOST_ID_COUNT;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (file === 'subuid' || file === 'subgid') {
      const start = Number(fields[1]);
      const count = Number(fields[2]);
      if (Number.isInteger(start) && Number.isInteger(count) && start < end && start + count > base)
        out.push(`/etc/${file}: ${line}`);
    } else {
      const id = Number(fields[2]);
      if (fields.length > 2 && Number.isInteger(id) && id >= base && id < end)
        out.push(`/etc/${file}: ${fields[0]} (${id})`);
    }
  }
  return out;
}

/** Why the range cannot be used on this machine (a user, group or subordinate range in it), or undefined. */
export function hostIdProblem(base: number): string | undefined {
  const found = ['passwd', 'group', 'subuid', 'subgid'].flatMap((file) => clashes(file, base));
  if (found.length === 0) return undefined;
  return (
    `the sandbox id range ${base}-${base + HOST_ID_COUNT - 1} (sandbox.uidBase) is in use: ${found.slice(0, 3).join('; ')}. ` +
    'Choose a sandbox.uidBase whose range no user, group or subordinate id range touches'
  );
}

export class HostIds {
  /** Never handed out yet: base + 1 up to here. */
  private next: number;
  /** Given back, oldest first: a uid is reused as late as possible. */
  private readonly released: number[] = [];
  /** Handed out and not given back yet. */
  private readonly taken = new Set<number>();

  private static readonly byBase = new Map<number, HostIds>();

  private constructor(readonly base: number) {
    this.next = base + 1;
  }

  /** The range's allocator, one per process: several platforms in one process never share a uid. */
  static for(base: number): HostIds {
    let ids = HostIds.byBase.get(base);
    if (ids === undefined) {
      ids = new HostIds(base);
      HostIds.byBase.set(base, ids);
    }
    return ids;
  }

  get gid(): number {
    return this.base;
  }

  take(): HostIdentity {
    let uid: number | undefined;
    if (this.next < this.base + HOST_ID_COUNT) uid = this.next++;
    else uid = this.released.shift();
    if (uid === undefined)
      throw new SkiffError(
        'SKIFF_E_SANDBOX_UNAVAILABLE',
        `no free sandbox uid: ${HOST_ID_COUNT - 1} sandboxes are running`,
      );
    this.taken.add(uid);
    let given = false;
    return {
      uid,
      gid: this.gid,
      release: () => {
        if (given) return;
        given = true;
        this.taken.delete(uid);
        this.released.push(uid);
      },
    };
  }

  /** Sandboxes running now (for tests and the status line). */
  get inUse(): number {
    return this.taken.size;
  }
}

/** The `setpriv` prefix that makes the rest of a command line run as `who` on the host, with no other groups. */
export function asHostIdentity(who: { uid: number; gid: number }): string[] {
  return ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--'];
}
