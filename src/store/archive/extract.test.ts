import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffError, type ErrorCode } from '../../shared/errors.js';
import { extractArchive } from './index.js';

// ---------- helpers: real archives, built by hand where real tools refuse to build hostile ones ----------

interface TarSpec {
  name: string;
  /** tar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' dir, '6' FIFO... */
  type?: string;
  data?: Buffer;
  linkpath?: string;
  mode?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header block with a valid checksum. */
function tarHeader(spec: TarSpec): Buffer {
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

function rawTar(specs: TarSpec[], trailer = Buffer.alloc(1024)): Buffer {
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

const tarGz = (specs: TarSpec[]): Buffer => zlib.gzipSync(rawTar(specs));

interface ZipSpec {
  name: string;
  data?: Buffer;
  /** Unix st_mode stored in the upper 16 bits of the external attributes; 0 leaves them unset. */
  unixMode?: number;
  deflate?: boolean;
  /** Overrides the CRC-32 written to the headers. */
  crc?: number;
}

/** A minimal zip writer (stored or deflate entries, unix attributes) for archives `zip` will not make. */
function makeZip(specs: ZipSpec[]): Buffer {
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

function hasCommand(command: string): boolean {
  try {
    execFileSync('which', [command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<SkiffError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SkiffError);
    return err as SkiffError;
  }
  throw new Error('expected the extraction to fail');
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<SkiffError> {
  const err = await rejection(promise);
  expect(err.code, err.message).toBe(code);
  if (message !== undefined) expect(err.message).toMatch(message);
  return err;
}

/** Every path below `dir` (relative, sorted), optionally skipping one subtree. */
async function snapshot(dir: string, skip?: string): Promise<string[]> {
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

const modeOf = async (file: string): Promise<number> => (await fsp.lstat(file)).mode & 0o7777;

// ---------- tests ----------

let root: string;
let stage: string;

beforeEach(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'skiff-archive-'));
  stage = path.join(root, 'stage');
  await fsp.mkdir(stage);
});

afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** Runs a hostile extraction and checks that nothing appeared next to the staging folder. */
async function expectContained(data: Buffer, code: ErrorCode, message?: RegExp): Promise<SkiffError> {
  const before = await snapshot(root, stage);
  const err = await expectCode(extractArchive(data, stage), code, message);
  expect(await snapshot(root, stage)).toEqual(before);
  return err;
}

describe('extractArchive: format detection and corrupt input', () => {
  it('refuses bytes that are neither zip nor gzip', async () => {
    await expectCode(
      extractArchive(Buffer.from('hello, this is not an archive'), stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /neither a zip nor a tar\.gz/,
    );
    await expectCode(extractArchive(Buffer.alloc(0), stage), 'SKIFF_E_ARCHIVE_INVALID');
  });

  it('refuses a zip signature followed by garbage, with yauzl’s message', async () => {
    const data = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(2000)]);
    await expectCode(
      extractArchive(data, stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /zip archive is corrupt.*central directory/,
    );
  });

  it('refuses a truncated gzip', async () => {
    const full = tarGz([{ name: 'big.bin', data: randomBytes(200_000) }]);
    await expectCode(
      extractArchive(full.subarray(0, full.length / 2), stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /gzip/,
    );
  });

  it('refuses a gzip that is not a tar, and a tar header with a bad checksum', async () => {
    await expectCode(extractArchive(zlib.gzipSync(randomBytes(4096)), stage), 'SKIFF_E_ARCHIVE_INVALID');
    const tarData = rawTar([{ name: 'a.txt', data: Buffer.from('a') }]);
    tarData[0] = 'b'.charCodeAt(0);
    await expectCode(extractArchive(zlib.gzipSync(tarData), stage), 'SKIFF_E_ARCHIVE_INVALID', /checksum/);
  });

  it('refuses a tar truncated inside a file body', async () => {
    const tarData = rawTar([{ name: 'a.bin', data: randomBytes(5000) }]);
    await expectCode(
      extractArchive(zlib.gzipSync(tarData.subarray(0, 2048)), stage),
      'SKIFF_E_ARCHIVE_INVALID',
    );
  });

  it('refuses a gzip wrapping another gzip (tar would unwrap it past the caps)', async () => {
    const inner = tarGz([{ name: 'a.txt', data: Buffer.from('a') }]);
    await expectCode(
      extractArchive(zlib.gzipSync(inner), stage),
      'SKIFF_E_ARCHIVE_INVALID',
      /another compressed/,
    );
  });

  it('refuses a zip entry whose CRC-32 does not match', async () => {
    const data = makeZip([{ name: 'a.txt', data: Buffer.from('hello'), crc: 1234 }]);
    await expectCode(extractArchive(data, stage), 'SKIFF_E_ARCHIVE_INVALID', /CRC-32/);
  });

  it('requires an empty staging folder', async () => {
    await fsp.writeFile(path.join(stage, 'left-over'), 'x');
    await expectCode(
      extractArchive(tarGz([{ name: 'a', data: Buffer.from('a') }]), stage),
      'SKIFF_E_INTERNAL',
    );
  });
});

describe('extractArchive: normal archives', () => {
  it('extracts a tar.gz made by tar, keeping a single top-level folder', async () => {
    const src = path.join(root, 'src');
    await fsp.mkdir(path.join(src, 'fn', 'lib'), { recursive: true });
    const binary = randomBytes(300_000);
    await fsp.writeFile(path.join(src, 'fn', 'lib', 'data.bin'), binary);
    await fsp.writeFile(path.join(src, 'fn', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await fsp.writeFile(path.join(src, 'fn', 'private.txt'), 'secret', { mode: 0o600 });
    await fsp.chmod(path.join(src, 'fn', 'private.txt'), 0o600);
    const chunks: Buffer[] = [];
    for await (const chunk of tar.c({ gzip: true, cwd: src }, ['fn'])) chunks.push(chunk as Buffer);

    const result = await extractArchive(Buffer.concat(chunks), stage);

    expect(result).toEqual({ files: 3, bytes: binary.length + 18 + 6 });
    expect(await snapshot(stage)).toEqual(['fn', 'fn/lib', 'fn/lib/data.bin', 'fn/private.txt', 'fn/run.sh']);
    expect((await fsp.readFile(path.join(stage, 'fn', 'lib', 'data.bin'))).equals(binary)).toBe(true);
    expect(await modeOf(path.join(stage, 'fn', 'run.sh'))).toBe(0o755);
    expect(await modeOf(path.join(stage, 'fn', 'private.txt'))).toBe(0o644);
    expect(await modeOf(path.join(stage, 'fn', 'lib'))).toBe(0o755);
  });

  it.skipIf(!hasCommand('zip'))('extracts a zip made by the zip command', async () => {
    const src = path.join(root, 'src');
    await fsp.mkdir(path.join(src, 'lib', 'deep', 'er'), { recursive: true });
    const binary = randomBytes(500_000);
    await fsp.writeFile(path.join(src, 'lib', 'deep', 'er', 'data.bin'), binary);
    await fsp.writeFile(path.join(src, 'index.js'), 'export const handler = () => 1;\n'.repeat(2000));
    await fsp.writeFile(path.join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await fsp.mkdir(path.join(src, 'empty'));
    const zipFile = path.join(root, 'fn.zip');
    execFileSync('zip', ['-q', '-r', '-X', zipFile, '.'], { cwd: src });

    const result = await extractArchive(await fsp.readFile(zipFile), stage);

    expect(result.files).toBe(3);
    expect(await snapshot(stage)).toEqual(await snapshot(src));
    expect((await fsp.readFile(path.join(stage, 'lib', 'deep', 'er', 'data.bin'))).equals(binary)).toBe(true);
    expect(await fsp.readFile(path.join(stage, 'index.js'), 'utf8')).toBe(
      'export const handler = () => 1;\n'.repeat(2000),
    );
    expect(await modeOf(path.join(stage, 'run.sh'))).toBe(0o755);
    expect(await modeOf(path.join(stage, 'index.js'))).toBe(0o644);
    expect(await modeOf(path.join(stage, 'empty'))).toBe(0o755);
  });

  it.skipIf(!hasCommand('tar'))('extracts a pax tar.gz made by the system tar', async () => {
    const src = path.join(root, 'src');
    const long = `${'x'.repeat(120)}/données.txt`;
    await fsp.mkdir(path.join(src, 'x'.repeat(120)), { recursive: true });
    await fsp.writeFile(path.join(src, long), 'long');
    await fsp.writeFile(path.join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    const archive = path.join(root, 'fn.tar.gz');
    execFileSync('tar', ['-czf', archive, '--format=pax', '-C', src, '.']);

    expect(await extractArchive(await fsp.readFile(archive), stage)).toEqual({ files: 2, bytes: 4 + 10 });
    expect(await fsp.readFile(path.join(stage, long), 'utf8')).toBe('long');
    expect(await modeOf(path.join(stage, 'run.sh'))).toBe(0o755);
  });

  it('extracts hand-made zips: deflate, attributes unset, owner-only modes normalised', async () => {
    const data = makeZip([
      { name: 'dir/', unixMode: 0o040700 },
      { name: 'dir/a.txt', data: Buffer.from('a'.repeat(10_000)), deflate: true, unixMode: 0o100600 },
      { name: 'dir/tool', data: Buffer.from('#!/bin/sh\n'), unixMode: 0o104700 },
      { name: 'plain.txt', data: Buffer.from('plain') },
    ]);
    expect(await extractArchive(data, stage)).toEqual({ files: 3, bytes: 10_000 + 10 + 5 });
    expect(await fsp.readFile(path.join(stage, 'dir', 'a.txt'), 'utf8')).toBe('a'.repeat(10_000));
    expect(await modeOf(path.join(stage, 'dir'))).toBe(0o755);
    expect(await modeOf(path.join(stage, 'dir', 'a.txt'))).toBe(0o644);
    expect(await modeOf(path.join(stage, 'dir', 'tool'))).toBe(0o755);
    expect(await modeOf(path.join(stage, 'plain.txt'))).toBe(0o644);
  });

  it('extracts an empty zip', async () => {
    expect(await extractArchive(makeZip([]), stage)).toEqual({ files: 0, bytes: 0 });
    expect(await snapshot(stage)).toEqual([]);
  });

  it('drops setuid bits and accepts ./ prefixes in tar', async () => {
    const data = tarGz([
      { name: './', type: '5' },
      { name: './bin/', type: '5', mode: 0o700 },
      { name: './bin/suid', data: Buffer.from('x'), mode: 0o4755 },
    ]);
    await extractArchive(data, stage);
    expect(await modeOf(path.join(stage, 'bin', 'suid'))).toBe(0o755);
    expect(await modeOf(path.join(stage, 'bin'))).toBe(0o755);
  });

  it('ignores what follows the end-of-archive blocks in a tar', async () => {
    const tarData = rawTar([{ name: 'a.txt', data: Buffer.from('a') }], Buffer.alloc(8 * 1024 * 1024));
    expect(await extractArchive(zlib.gzipSync(tarData), stage)).toEqual({ files: 1, bytes: 1 });
  });
});

describe('extractArchive: path attacks', () => {
  it('refuses ../ entries in zip and writes nothing outside', async () => {
    const data = makeZip([
      { name: 'ok.txt', data: Buffer.from('ok') },
      { name: '../evil.txt', data: Buffer.from('evil') },
    ]);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /"\.\.\/evil\.txt"/);
    await expect(fsp.access(path.join(root, 'evil.txt'))).rejects.toThrow();
  });

  it('refuses nested ../ entries in tar and writes nothing outside', async () => {
    for (const name of ['../evil.txt', 'a/../../evil.txt', 'a/b/../../../evil.txt']) {
      await fsp.rm(stage, { recursive: true });
      await fsp.mkdir(stage);
      const data = tarGz([
        { name: 'ok.txt', data: Buffer.from('ok') },
        { name, data: Buffer.from('evil') },
      ]);
      await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /'\.\.'/);
    }
  });

  it('refuses absolute paths in zip and tar', async () => {
    const target = path.join(root, 'abs-evil.txt');
    await expectContained(
      makeZip([{ name: target, data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /absolute/,
    );
    await expectContained(
      tarGz([{ name: target, data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /absolute/,
    );
    await expectContained(tarGz([{ name: 'C:/evil.txt', data: Buffer.from('x') }]), 'SKIFF_E_ARCHIVE_UNSAFE');
  });

  it('refuses backslashes in names', async () => {
    await expectContained(
      makeZip([{ name: '..\\evil.txt', data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
    );
    await expectContained(
      tarGz([{ name: 'a\\b.txt', data: Buffer.from('x') }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /backslash/,
    );
  });

  it('refuses paths deeper than maxDepth', async () => {
    const name = `${Array.from({ length: 10 }, (_, i) => `d${i}`).join('/')}/f.txt`;
    const data = tarGz([{ name, data: Buffer.from('x') }]);
    await expectCode(extractArchive(data, stage, { maxDepth: 5 }), 'SKIFF_E_ARCHIVE_UNSAFE', /deeper/);
  });
});

describe('extractArchive: links, devices and other non-files', () => {
  it('refuses symlink entries in zip', async () => {
    const data = makeZip([{ name: 'link', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 }]);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /"link" is a symbolic link/);
    expect(await snapshot(stage)).toEqual([]);
  });

  it('refuses FIFO and device entries in zip', async () => {
    await expectContained(makeZip([{ name: 'f', unixMode: 0o010644 }]), 'SKIFF_E_ARCHIVE_UNSAFE', /FIFO/);
    await expectContained(makeZip([{ name: 'c', unixMode: 0o020644 }]), 'SKIFF_E_ARCHIVE_UNSAFE', /device/);
  });

  it('refuses symlink entries in tar, hand-made and made by tar from a real symlink', async () => {
    await expectContained(
      tarGz([{ name: 'link', type: '2', linkpath: '/etc/passwd' }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /"link" is a symbolic link/,
    );
    const src = path.join(root, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'a.txt'), 'a');
    await fsp.symlink('/etc/passwd', path.join(src, 'passwd'));
    const chunks: Buffer[] = [];
    for await (const chunk of tar.c({ gzip: true, cwd: src }, ['a.txt', 'passwd']))
      chunks.push(chunk as Buffer);
    await fsp.rm(stage, { recursive: true });
    await fsp.mkdir(stage);
    await expectContained(Buffer.concat(chunks), 'SKIFF_E_ARCHIVE_UNSAFE', /"passwd" is a symbolic link/);
  });

  it('refuses a symlink followed by a file written through it', async () => {
    const data = tarGz([
      { name: 'escape', type: '2', linkpath: root },
      { name: 'escape/evil.txt', data: Buffer.from('x') },
    ]);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /symbolic link/);
  });

  it('refuses hard link entries in tar, hand-made and made by tar from a real hard link', async () => {
    await expectContained(
      tarGz([{ name: 'hl', type: '1', linkpath: 'etc/passwd' }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /"hl" is a hard link/,
    );
    const src = path.join(root, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'a.txt'), 'a');
    await fsp.link(path.join(src, 'a.txt'), path.join(src, 'b.txt'));
    const chunks: Buffer[] = [];
    for await (const chunk of tar.c({ gzip: true, cwd: src }, ['a.txt', 'b.txt']))
      chunks.push(chunk as Buffer);
    await fsp.rm(stage, { recursive: true });
    await fsp.mkdir(stage);
    await expectContained(Buffer.concat(chunks), 'SKIFF_E_ARCHIVE_UNSAFE', /"b\.txt" is a hard link/);
  });

  it('refuses FIFO, device and GNU dump-dir entries in tar', async () => {
    await expectContained(tarGz([{ name: 'fifo', type: '6' }]), 'SKIFF_E_ARCHIVE_UNSAFE', /FIFO/);
    await expectContained(tarGz([{ name: 'tty', type: '3' }]), 'SKIFF_E_ARCHIVE_UNSAFE', /character device/);
    await expectContained(tarGz([{ name: 'sda', type: '4' }]), 'SKIFF_E_ARCHIVE_UNSAFE', /block device/);
    await expectContained(tarGz([{ name: 'dump', type: 'D' }]), 'SKIFF_E_ARCHIVE_UNSAFE', /dump/);
  });

  it('stops at the first refused entry: later entries are never written', async () => {
    const data = tarGz([
      { name: 'before.txt', data: Buffer.from('before') },
      { name: 'link', type: '2', linkpath: 'before.txt' },
      { name: 'after.txt', data: Buffer.from('after') },
    ]);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE');
    // tar refuses at header time, which can come before the earlier file is written.
    expect(['before.txt', '']).toContain((await snapshot(stage)).join(','));
    await fsp.rm(stage, { recursive: true });
    await fsp.mkdir(stage);
    const zip = makeZip([
      { name: 'before.txt', data: Buffer.from('before') },
      { name: 'link', data: Buffer.from('before.txt'), unixMode: 0o120777 },
      { name: 'after.txt', data: Buffer.from('after') },
    ]);
    await expectContained(zip, 'SKIFF_E_ARCHIVE_UNSAFE');
    expect(await snapshot(stage)).toEqual(['before.txt']);
  });

  it('refuses tar entry types that tar would silently skip', async () => {
    const data = tarGz([{ name: 'sparse', type: 'S', data: Buffer.from('x') }]);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /unsupported tar entry type/);
  });
});

describe('extractArchive: duplicates and clashes', () => {
  it('refuses duplicate names in zip', async () => {
    const data = makeZip([
      { name: 'index.js', data: Buffer.from('good') },
      { name: 'index.js', data: Buffer.from('evil') },
    ]);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /"index\.js" appears more than once/);
    const dirs = makeZip([{ name: 'a/' }, { name: 'a/' }]);
    await fsp.rm(stage, { recursive: true });
    await fsp.mkdir(stage);
    await expectContained(dirs, 'SKIFF_E_ARCHIVE_UNSAFE', /more than once/);
  });

  it('refuses duplicate names in tar, also when spelled differently', async () => {
    const data = tarGz([
      { name: 'index.js', data: Buffer.from('good') },
      { name: './index.js', data: Buffer.from('evil') },
    ]);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /more than once/);
  });

  it('refuses a file that clashes with a folder', async () => {
    await expectContained(
      tarGz([
        { name: 'a', data: Buffer.from('x') },
        { name: 'a/b', data: Buffer.from('y') },
      ]),
      'SKIFF_E_ARCHIVE_UNSAFE',
    );
    await fsp.rm(stage, { recursive: true });
    await fsp.mkdir(stage);
    await expectContained(
      makeZip([
        { name: 'a/b', data: Buffer.from('y') },
        { name: 'a', data: Buffer.from('x') },
      ]),
      'SKIFF_E_ARCHIVE_UNSAFE',
    );
  });
});

describe('extractArchive: size limits and bombs', () => {
  it('refuses an upload above maxPackedBytes before parsing it', async () => {
    const data = tarGz([{ name: 'a.bin', data: randomBytes(10_000) }]);
    await expectCode(extractArchive(data, stage, { maxPackedBytes: 1000 }), 'SKIFF_E_ARCHIVE_TOO_LARGE');
    expect(await snapshot(stage)).toEqual([]);
  });

  it('refuses more than 10,000 entries in tar by default', async () => {
    const specs = Array.from({ length: 10_001 }, (_, i) => ({ name: `f${i}` }));
    await expectCode(extractArchive(tarGz(specs), stage), 'SKIFF_E_ARCHIVE_TOO_LARGE', /10000 entries/);
  });

  it('refuses more entries than maxEntries in zip', async () => {
    const data = makeZip(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, data: Buffer.from('x') })));
    await expectCode(extractArchive(data, stage, { maxEntries: 5 }), 'SKIFF_E_ARCHIVE_TOO_LARGE');
    expect(await snapshot(stage)).toEqual([]);
  });

  it('refuses a zip bomb (20 MiB of zeros deflated, ratio far over 100)', async () => {
    const data = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(20 * 1024 * 1024), deflate: true }]);
    expect(data.length).toBeLessThan(100 * 1024);
    await expectContained(data, 'SKIFF_E_ARCHIVE_UNSAFE', /"zeros\.bin" expands more than 100 times/);
    expect(await snapshot(stage)).toEqual([]);
  });

  it('accepts a well-compressed zip entry below the 1 MiB ratio threshold', async () => {
    const data = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(1024 * 1024), deflate: true }]);
    expect(await extractArchive(data, stage)).toEqual({ files: 1, bytes: 1024 * 1024 });
  });

  it('refuses archives that unpack to more than maxUnpackedBytes', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    await expectCode(
      extractArchive(tarGz([{ name: 'big.bin', data: big }]), stage, { maxUnpackedBytes: 2 * 1024 * 1024 }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
      /"big\.bin"/,
    );
    await fsp.rm(stage, { recursive: true });
    await fsp.mkdir(stage);
    const zip = makeZip([
      { name: 'a.bin', data: big.subarray(0, 1024 * 1024) },
      { name: 'b.bin', data: big.subarray(0, 1024 * 1024) },
    ]);
    await expectCode(
      extractArchive(zip, stage, { maxUnpackedBytes: 1.5 * 1024 * 1024 }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
    );
  });

  it('caps the decompressed tar stream, not only the file bytes', async () => {
    const tarData = rawTar([{ name: 'a.txt', data: Buffer.from('a') }], Buffer.alloc(16 * 1024 * 1024));
    await expectCode(
      extractArchive(zlib.gzipSync(tarData), stage, { maxUnpackedBytes: 1024 * 1024, maxEntries: 10 }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
      /tar data/,
    );
  });

  it('refuses a gzip bomb of zeros inside the tar stream', async () => {
    // A 64 MiB file of zeros: tar.gz compresses it about 1000 times.
    const data = tarGz([{ name: 'zeros.bin', data: Buffer.alloc(64 * 1024 * 1024) }]);
    expect(data.length).toBeLessThan(1024 * 1024);
    await expectCode(
      extractArchive(data, stage, { maxUnpackedBytes: 8 * 1024 * 1024 }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
    );
    const written = await fsp.stat(path.join(stage, 'zeros.bin')).catch(() => undefined);
    expect(written?.size ?? 0).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
