/**
 * The module a warm-pool Node bridge imports while it waits for INIT (rehearsal.ts): loading any file
 * module once readies the ESM loader's resolution and loading, which the function's import at INIT
 * would otherwise pay for. Its handler answers a string, as a function's might.
 */
export default function rehearsal(request: Request): string {
  return `${request.method} ${request.url}`;
}
