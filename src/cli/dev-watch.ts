/**
 * What `skiff dev` watches and when it redeploys: changes below a folder (a watch per folder, less
 * what `.skiffignore` and the defaults leave out of a deploy), debounced, one deploy at a time.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { deployIgnore, type DeployIgnore } from '../store/archive/skiffignore.js';

/**
 * Runs `deploy` once changes have been quiet for `delayMs`: a burst of saves gives one deploy; a change
 * while a deploy runs gives one more deploy after it; never two at once.
 */
export class Redeployer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private stopped = false;

  constructor(
    private readonly deploy: () => Promise<void>,
    private readonly delayMs: number,
  ) {}

  /** Whether a deploy is running now. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** A change was seen: (re)start the quiet period. */
  changed(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.due(), this.delayMs);
  }

  /** Deploys now (the first deploy), or once the running one is done. */
  now(): void {
    this.due();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private due(): void {
    this.timer = undefined;
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.pending = true;
      return;
    }
    this.running = this.deploy()
      .catch(() => undefined) // the deploy reports its own failures
      .finally(() => {
        this.running = undefined;
        if (this.pending && !this.stopped) {
          this.pending = false;
          this.due();
        }
      });
  }
}

export interface FolderWatch {
  close(): void;
}

/** At most this many folders are watched (one inotify watch each); deeper trees are cut with a warning. */
export const MAX_WATCHED_DIRS = 1000;

/**
 * Calls `onChange` with the relative path of each change below `dir` that a deploy would pack (or a
 * change of `.skiffignore` itself, whose rules are read again); `onError` when watching `dir` fails;
 * `onWarning` once when the folder has more than MAX_WATCHED_DIRS folders.
 *
 * Each folder is watched on its own (not `fs.watch`'s `recursive`, which on Linux under Node.js 20
 * watches each file and loses it once an editor saves by renaming a new file over it): a folder's watch
 * sees its files written, created, renamed and removed, and new folders get a watch of their own.
 */
export async function watchFolder(
  dir: string,
  onChange: (relPath: string) => void,
  onError: (err: Error) => void,
  onWarning: (message: string) => void = () => undefined,
  /** Folders below `dir` never watched (relative): the platform's own data folder when it is inside. */
  skip: readonly string[] = [],
): Promise<FolderWatch> {
  let rules: DeployIgnore = await deployIgnore(dir);
  const skipped = (rel: string): boolean => skip.some((s) => rel === s || rel.startsWith(`${s}/`));
  let closed = false;
  let warned = false;
  const watchers = new Map<string, FSWatcher>();
  const join = (relDir: string, name: string): string => (relDir === '' ? name : `${relDir}/${name}`);

  const unwatch = (relDir: string): void => {
    for (const [key, watcher] of watchers) {
      if (key === relDir || key.startsWith(`${relDir}/`)) {
        watcher.close();
        watchers.delete(key);
      }
    }
  };

  const add = async (relDir: string): Promise<void> => {
    if (closed || watchers.has(relDir)) return;
    if (watchers.size >= MAX_WATCHED_DIRS) {
      if (!warned) onWarning(`more than ${MAX_WATCHED_DIRS} folders: changes below the others are not seen`);
      warned = true;
      return;
    }
    const abs = path.join(dir, relDir);
    let watcher: FSWatcher;
    try {
      watcher = watch(abs, (event, filename) => seen(relDir, event, filename));
    } catch (err) {
      if (relDir === '') throw err;
      return; // gone again already
    }
    watcher.on('error', (err) => {
      unwatch(relDir);
      if (relDir === '' && !closed) onError(err);
    });
    watchers.set(relDir, watcher);
    const entries = await readdir(abs, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const rel = join(relDir, entry.name);
      if (entry.isDirectory() && !rules.exclude(rel, true) && !skipped(rel)) await add(rel);
    }
  };

  const seen = (relDir: string, event: string, filename: string | Buffer | null): void => {
    if (closed) return;
    // without a name the folder itself changed: deploying once too often is harmless
    const rel = filename === null ? relDir : join(relDir, String(filename));
    if (rel === '.skiffignore') {
      void deployIgnore(dir).then(
        (fresh) => (rules = fresh),
        () => undefined,
      );
      onChange(rel);
      return;
    }
    if (rel !== '' && (rules.exclude(rel, false) || rules.exclude(rel, true) || skipped(rel))) return;
    if (event === 'rename' && rel !== '') {
      // a folder came (watch it) or went (drop its watches)
      void lstat(path.join(dir, rel)).then(
        (info) => (info.isDirectory() ? add(rel) : undefined),
        () => unwatch(rel),
      );
    }
    onChange(rel);
  };

  await add('');
  return {
    close: () => {
      closed = true;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
