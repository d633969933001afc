import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { SkiffError } from '../../shared/errors.js';
import { quoteEntry, unsafeEntry } from './entry-path.js';
import { fileModeFrom, type StagingWriter } from './staging.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const REFUSED_TYPES: Record<number, string> = {
  0o120000: 'a symbolic link',
  0o010000: 'a FIFO',
  0o020000: 'a character device',
  0o060000: 'a block device',
  0o140000: 'a socket',
};

/** yauzl's own name checks (with decodeStrings and strictFileNames) report unsafe names as errors. */
const YAUZL_UNSAFE_NAME = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s;

/** Extracts a zip upload into `writer`'s staging folder, one entry at a time. */
export async function extractZip(data: Buffer, writer: StagingWriter): Promise<void> {
  const zip = await openZip(data);
  try {
    if (zip.entryCount > writer.limits.maxEntries) {
      throw new SkiffError(
        'SKIFF_E_ARCHIVE_TOO_LARGE',
        `the archive has ${zip.entryCount} entries, more than the ${writer.limits.maxEntries} accepted`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        if (err === undefined) resolve();
        else reject(err instanceof SkiffError ? err : invalid(err));
      };
      zip.on('error', (err: Error) => finish(zipError(err)));
      zip.on('end', () => finish());
      zip.on('entry', (entry: Entry) => {
        extractEntry(zip, entry, writer).then(() => {
          if (!settled) zip.readEntry();
        }, finish);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

async function extractEntry(zip: ZipFile, entry: Entry, writer: StagingWriter): Promise<void> {
  const name = entry.fileName;
  const unixMode = entry.externalFileAttributes >>> 16;
  const type = unixMode & S_IFMT;
  writer.countEntry();
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    throw unsafeEntry(
      name,
      `is ${REFUSED_TYPES[type] ?? 'not a regular file or folder'}; only files and folders are accepted`,
    );
  }
  const rel = writer.admit(name);
  if (name.endsWith('/') || type === S_IFDIR) {
    await writer.mkdir(rel, name);
    return;
  }
  if (entry.isEncrypted()) {
    throw new SkiffError(
      'SKIFF_E_ARCHIVE_INVALID',
      `archive entry ${quoteEntry(name)} is encrypted; upload it unencrypted`,
    );
  }
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw new SkiffError(
      'SKIFF_E_ARCHIVE_INVALID',
      `archive entry ${quoteEntry(name)} uses compression method ${entry.compressionMethod}; only stored and deflate are supported`,
    );
  }
  const { maxCompressionRatio, ratioMinBytes } = writer.limits;
  if (
    entry.uncompressedSize > ratioMinBytes &&
    entry.uncompressedSize > maxCompressionRatio * entry.compressedSize
  ) {
    throw unsafeEntry(
      name,
      `expands more than ${maxCompressionRatio} times (${entry.compressedSize} to ${entry.uncompressedSize} bytes), like a zip bomb`,
    );
  }
  writer.checkDeclaredSize(name, entry.uncompressedSize);
  const stream = await openReadStream(zip, entry);
  const crc = { value: 0 };
  const written = await writer.writeFile(rel, name, fileModeFrom(unixMode), checkedBody(stream, name, crc));
  if (written !== entry.uncompressedSize || crc.value !== entry.crc32 >>> 0) {
    throw new SkiffError(
      'SKIFF_E_ARCHIVE_INVALID',
      `archive entry ${quoteEntry(name)} is corrupt: its size or CRC-32 does not match`,
    );
  }
}

/** Passes the entry's bytes through, updating the CRC-32 and turning stream errors into SkiffErrors. */
async function* checkedBody(stream: Readable, name: string, crc: { value: number }): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      crc.value = zlib.crc32(chunk, crc.value);
      yield chunk;
    }
  } catch (err) {
    throw new SkiffError(
      'SKIFF_E_ARCHIVE_INVALID',
      `archive entry ${quoteEntry(name)} is corrupt: ${message(err)}`,
      {
        cause: err,
      },
    );
  } finally {
    stream.destroy();
  }
}

function openZip(data: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(
      data,
      {
        lazyEntries: true,
        strictFileNames: true,
        decodeStrings: true,
        validateEntrySizes: true,
        autoClose: true,
      },
      (err, zip) => (err ? reject(zipError(err)) : resolve(zip)),
    );
  });
}

function openReadStream(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) =>
      err ? reject(invalid(err, entry.fileName)) : resolve(stream),
    );
  });
}

function zipError(err: Error): SkiffError {
  const unsafe = YAUZL_UNSAFE_NAME.exec(err.message);
  if (unsafe !== null) {
    const reason = {
      'absolute path': 'is an absolute path',
      'invalid relative path': "contains a '..' path component",
    }[unsafe[1] ?? ''];
    return unsafeEntry(
      unsafe[2] ?? '',
      reason ?? 'contains a backslash or another character not allowed in a path',
    );
  }
  return invalid(err);
}

function invalid(err: unknown, name?: string): SkiffError {
  const what =
    name === undefined
      ? 'the zip archive is corrupt or unreadable'
      : `archive entry ${quoteEntry(name)} is unreadable`;
  return new SkiffError('SKIFF_E_ARCHIVE_INVALID', `${what}: ${message(err)}`, { cause: err });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
