/** Byte counts as people read them in messages and tables. */

const MiB = 1024 * 1024;

/** `12.5 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** `12.5 MiB`, `3.0 KiB` or `17 bytes`, whichever fits. */
export function humanSize(bytes: number): string {
  if (bytes >= MiB) return mib(bytes);
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}
