import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { extractArchive } from './index.js';
import {
  expectCode,
  expectContained,
  makeZip,
  rawTar,
  snapshot,
  tarGz,
  useStagingDirs,
} from '../../../test/helpers/archives.js';

const dirs = useStagingDirs();

describe('extractArchive: links, devices and other non-files', () => {
  it('refuses symlink entries in zip', async () => {
    const data = makeZip([{ name: 'link', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 }]);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /"link" is a symbolic link/);
    expect(await snapshot(dirs.stage)).toEqual([]);
  });

  it('refuses FIFO and device entries in zip', async () => {
    await expectContained(
      dirs,
      makeZip([{ name: 'f', unixMode: 0o010644 }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /FIFO/,
    );
    await expectContained(
      dirs,
      makeZip([{ name: 'c', unixMode: 0o020644 }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /device/,
    );
  });

  it('refuses symlink entries in tar, hand-made and made by tar from a real symlink', async () => {
    await expectContained(
      dirs,
      tarGz([{ name: 'link', type: '2', linkpath: '/etc/passwd' }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /"link" is a symbolic link/,
    );
    const src = path.join(dirs.root, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'a.txt'), 'a');
    await fsp.symlink('/etc/passwd', path.join(src, 'passwd'));
    const chunks: Buffer[] = [];
    for await (const chunk of tar.c({ gzip: true, cwd: src }, ['a.txt', 'passwd']))
      chunks.push(chunk as Buffer);
    await fsp.rm(dirs.stage, { recursive: true });
    await fsp.mkdir(dirs.stage);
    await expectContained(
      dirs,
      Buffer.concat(chunks),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /"passwd" is a symbolic link/,
    );
  });

  it('refuses a symlink followed by a file written through it', async () => {
    const data = tarGz([
      { name: 'escape', type: '2', linkpath: dirs.root },
      { name: 'escape/evil.txt', data: Buffer.from('x') },
    ]);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /symbolic link/);
  });

  it('refuses hard link entries in tar, hand-made and made by tar from a real hard link', async () => {
    await expectContained(
      dirs,
      tarGz([{ name: 'hl', type: '1', linkpath: 'etc/passwd' }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /"hl" is a hard link/,
    );
    const src = path.join(dirs.root, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(path.join(src, 'a.txt'), 'a');
    await fsp.link(path.join(src, 'a.txt'), path.join(src, 'b.txt'));
    // GNU tar, as a user's own packing would: node-tar's packing of a hard link can end its stream twice.
    const made = execFileSync('tar', ['-czf', '-', '-C', src, 'a.txt', 'b.txt']);
    await fsp.rm(dirs.stage, { recursive: true });
    await fsp.mkdir(dirs.stage);
    await expectContained(dirs, made, 'SKIFF_E_ARCHIVE_UNSAFE', /"b\.txt" is a hard link/);
  });

  it('refuses FIFO, device and GNU dump-dir entries in tar', async () => {
    await expectContained(dirs, tarGz([{ name: 'fifo', type: '6' }]), 'SKIFF_E_ARCHIVE_UNSAFE', /FIFO/);
    await expectContained(
      dirs,
      tarGz([{ name: 'tty', type: '3' }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /character device/,
    );
    await expectContained(
      dirs,
      tarGz([{ name: 'sda', type: '4' }]),
      'SKIFF_E_ARCHIVE_UNSAFE',
      /block device/,
    );
    await expectContained(dirs, tarGz([{ name: 'dump', type: 'D' }]), 'SKIFF_E_ARCHIVE_UNSAFE', /dump/);
  });

  it('stops at the first refused entry: later entries are never written', async () => {
    const data = tarGz([
      { name: 'before.txt', data: Buffer.from('before') },
      { name: 'link', type: '2', linkpath: 'before.txt' },
      { name: 'after.txt', data: Buffer.from('after') },
    ]);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE');
    // tar refuses at header time, which can come before the earlier file is written.
    expect(['before.txt', '']).toContain((await snapshot(dirs.stage)).join(','));
    await fsp.rm(dirs.stage, { recursive: true });
    await fsp.mkdir(dirs.stage);
    const zip = makeZip([
      { name: 'before.txt', data: Buffer.from('before') },
      { name: 'link', data: Buffer.from('before.txt'), unixMode: 0o120777 },
      { name: 'after.txt', data: Buffer.from('after') },
    ]);
    await expectContained(dirs, zip, 'SKIFF_E_ARCHIVE_UNSAFE');
    expect(await snapshot(dirs.stage)).toEqual(['before.txt']);
  });

  it('refuses tar entry types that tar would silently skip', async () => {
    const data = tarGz([{ name: 'sparse', type: 'S', data: Buffer.from('x') }]);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /unsupported tar entry type/);
  });
});

describe('extractArchive: duplicates and clashes', () => {
  it('refuses duplicate names in zip', async () => {
    const data = makeZip([
      { name: 'index.js', data: Buffer.from('good') },
      { name: 'index.js', data: Buffer.from('evil') },
    ]);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /"index\.js" appears more than once/);
    const folders = makeZip([{ name: 'a/' }, { name: 'a/' }]);
    await fsp.rm(dirs.stage, { recursive: true });
    await fsp.mkdir(dirs.stage);
    await expectContained(dirs, folders, 'SKIFF_E_ARCHIVE_UNSAFE', /more than once/);
  });

  it('refuses duplicate names in tar, also when spelled differently', async () => {
    const data = tarGz([
      { name: 'index.js', data: Buffer.from('good') },
      { name: './index.js', data: Buffer.from('evil') },
    ]);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /more than once/);
  });

  it('refuses a file that clashes with a folder', async () => {
    await expectContained(
      dirs,
      tarGz([
        { name: 'a', data: Buffer.from('x') },
        { name: 'a/b', data: Buffer.from('y') },
      ]),
      'SKIFF_E_ARCHIVE_UNSAFE',
    );
    await fsp.rm(dirs.stage, { recursive: true });
    await fsp.mkdir(dirs.stage);
    await expectContained(
      dirs,
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
    await expectCode(extractArchive(data, dirs.stage, { maxPackedBytes: 1000 }), 'SKIFF_E_ARCHIVE_TOO_LARGE');
    expect(await snapshot(dirs.stage)).toEqual([]);
  });

  it('refuses more than 10,000 entries in tar by default', async () => {
    const specs = Array.from({ length: 10_001 }, (_, i) => ({ name: `f${i}` }));
    await expectCode(extractArchive(tarGz(specs), dirs.stage), 'SKIFF_E_ARCHIVE_TOO_LARGE', /10000 entries/);
  });

  it('refuses more entries than maxEntries in zip', async () => {
    const data = makeZip(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, data: Buffer.from('x') })));
    await expectCode(extractArchive(data, dirs.stage, { maxEntries: 5 }), 'SKIFF_E_ARCHIVE_TOO_LARGE');
    expect(await snapshot(dirs.stage)).toEqual([]);
  });

  it('refuses a zip bomb (20 MiB of zeros deflated, ratio far over 100)', async () => {
    const data = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(20 * 1024 * 1024), deflate: true }]);
    expect(data.length).toBeLessThan(100 * 1024);
    await expectContained(dirs, data, 'SKIFF_E_ARCHIVE_UNSAFE', /"zeros\.bin" expands more than 100 times/);
    expect(await snapshot(dirs.stage)).toEqual([]);
  });

  it('accepts a well-compressed zip entry below the 1 MiB ratio threshold', async () => {
    const data = makeZip([{ name: 'zeros.bin', data: Buffer.alloc(1024 * 1024), deflate: true }]);
    expect(await extractArchive(data, dirs.stage)).toEqual({ files: 1, bytes: 1024 * 1024 });
  });

  it('refuses archives that unpack to more than maxUnpackedBytes', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    await expectCode(
      extractArchive(tarGz([{ name: 'big.bin', data: big }]), dirs.stage, {
        maxUnpackedBytes: 2 * 1024 * 1024,
      }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
      /"big\.bin"/,
    );
    await fsp.rm(dirs.stage, { recursive: true });
    await fsp.mkdir(dirs.stage);
    const zip = makeZip([
      { name: 'a.bin', data: big.subarray(0, 1024 * 1024) },
      { name: 'b.bin', data: big.subarray(0, 1024 * 1024) },
    ]);
    await expectCode(
      extractArchive(zip, dirs.stage, { maxUnpackedBytes: 1.5 * 1024 * 1024 }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
    );
  });

  it('caps the decompressed tar stream, not only the file bytes', async () => {
    const tarData = rawTar([{ name: 'a.txt', data: Buffer.from('a') }], Buffer.alloc(16 * 1024 * 1024));
    await expectCode(
      extractArchive(zlib.gzipSync(tarData), dirs.stage, { maxUnpackedBytes: 1024 * 1024, maxEntries: 10 }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
      /tar data/,
    );
  });

  it('refuses a gzip bomb of zeros inside the tar stream', async () => {
    // A 64 MiB file of zeros: tar.gz compresses it about 1000 times.
    const data = tarGz([{ name: 'zeros.bin', data: Buffer.alloc(64 * 1024 * 1024) }]);
    expect(data.length).toBeLessThan(1024 * 1024);
    await expectCode(
      extractArchive(data, dirs.stage, { maxUnpackedBytes: 8 * 1024 * 1024 }),
      'SKIFF_E_ARCHIVE_TOO_LARGE',
    );
    const written = await fsp.stat(path.join(dirs.stage, 'zeros.bin')).catch(() => undefined);
    expect(written?.size ?? 0).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
