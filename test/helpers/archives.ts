import { execFileSync } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, expect } from 'vitest';
import { SkiffError, type ErrorCode } from '../../src/shared/errors.js';
import { extractArchive } from '../../src/store/archive/index.js';

// ---------- helpers: real archives, built by hand where real tools refuse to build hostile ones ----------

export interface TarSpec {
  name: string;
  /** tar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' dir, '6' FIFO... */
  type?: string;
  data?: Buffer;
  linkpath?: string;
  mode?: number;
}

export function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header block with a valid checksum. */
export function tarHeader(spec: TarSpec): Buffer {
  const block = Buffer.alloc(512);
  const type = spec.type ?? '0';
  block.write(spec.name, 0, 100, 'utf8');
  block.write(octal(spec.mode ?? (type === '5' ? 0o755 : 0o644), 8), 100);
  block.write(octal(0, 8), 108);
  block.write(octal(0, 8), 116);
  block.write(octal(spec.data?.length ?? 0, 12), 124);
  block.write(octal(0, 12), 136);
  block.write(type, 156);
  block.write(spec.linkpath ?? '', 157, 100, 'utf8');
  block.write('ustar\0', 257);
  block.write('00', 263);
  block.write('        ', 148);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

export function rawTar(specs: TarSpec[], trailer = Buffer.alloc(1024)): Buffer {
  const parts: Buffer[] = [];
  for (const spec of specs) {
    parts.push(tarHeader(spec));
    if (spec.data !== undefined && spec.data.length > 0) {
      parts.push(spec.data, Buffer.alloc((512 - (spec.data.length % 512)) % 512));
    }
  }
  parts.push(trailer);
  return Buffer.concat(parts);
}

export const tarGz = (specs: TarSpec[]): Buffer => zlib.gzipSync(rawTar(specs));

export interface ZipSpec {
  name: string;
  data?: Buffer;
  /** Unix st_mode stored in the upper 16 bits of the external attributes; 0 leaves them unset. */
  unixMode?: number;
  deflate?: boolean;
  /** Overrides the CRC-32 written to the headers. */
  crc?: number;
}

/** A minimal zip writer (stored or deflate entries, unix attributes) for archives `zip` will not make. */
export function makeZip(specs: ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const spec of specs) {
    const name = Buffer.from(spec.name, 'utf8');
    const data = spec.data ?? Buffer.alloc(0);
    const body = spec.deflate === true ? zlib.deflateRawSync(data) : data;
    const crc = spec.crc ?? zlib.crc32(data);
    const method = spec.deflate === true ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((spec.unixMode ?? 0) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(specs.length, 8);
  end.writeUInt16LE(specs.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export function hasCommand(command: string): boolean {
  try {
    execFileSync('which', [command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function rejection(promise: Promise<unknown>): Promise<SkiffError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    return err as SkiffError;
  }
  throw new Error('expected the extraction to fail');
}

export async function expectCode(
  promise: Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
): Promise<SkiffError> {
  const err = await rejection(promise);
  expect(err.code, err.message).toBe(code);
  if (message !== undefined) expect(err.message).toMatch(message);
  return err;
}

/** Every path below `dir` (relative, sorted), optionally skipping one subtree. */
export async function snapshot(dir: string, skip?: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const dirent of await fsp.readdir(current, { withFileTypes: true })) {
      const full = path.join(current, dirent.name);
      if (full === skip) continue;
      out.push(path.relative(dir, full));
      if (dirent.isDirectory() && !dirent.isSymbolicLink()) await walk(full);
    }
  };
  await walk(dir);
  return out.sort();
}

export const modeOf = async (file: string): Promise<number> => (await fsp.lstat(file)).mode & 0o7777;

/** A fresh temp root with an empty `stage` folder inside for every test, removed afterwards. */
export function useStagingDirs(): { root: string; stage: string } {
  const dirs = { root: '', stage: '' };
  beforeEach(async () => {
    dirs.root = await fsp.mkdtemp(path.join(os.tmpdir(), 'skiff-archive-'));
    dirs.stage = path.join(dirs.root, 'stage');
    await fsp.mkdir(dirs.stage);
  });
  afterEach(async () => {
    await fsp.rm(dirs.root, { recursive: true, force: true });
  });
  return dirs;
}

/** Runs a hostile extraction and checks that nothing appeared next to the staging folder. */
export async function expectContained(
  dirs: { root: string; stage: string },
  data: Buffer,
  code: ErrorCode,
  message?: RegExp,
): Promise<SkiffError> {
  const before = await snapshot(dirs.root, dirs.stage);
  const err = await expectCode(extractArchive(data, dirs.stage), code, message);
  expect(await snapshot(dirs.root, dirs.stage)).toEqual(before);
  return err;
}
