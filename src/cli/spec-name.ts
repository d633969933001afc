import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SkiffError } from '../shared/errors.js';

/** The `name` field of `<dir>/skiff.json`, if the file exists and has one. */
export async function readSpecName(dir: string): Promise<string | undefined> {
  const file = path.join(dir, 'skiff.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (cause) {
    throw new SkiffError('SKIFF_E_INVALID_SPEC', `${file} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  const name = typeof spec === 'object' && spec !== null ? (spec as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
