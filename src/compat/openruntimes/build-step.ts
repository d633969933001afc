/**
 * A runtime's build, as upstream's `command` asks for it: the source unpacked into a work folder of
 * Skiff's build sandbox, the image's install command (`helpers/build.sh "npm install"` → `npm install`)
 * run there by bash, its output kept as upstream's `output` entries and told to the log stream, and
 * the folder packed as the build's artifact (tar.gz, or tar with `OPEN_RUNTIMES_BUILD_COMPRESSION=none`).
 */
import { lstatSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import type { ForeignBuilds } from '../../control/deploy/foreign-builds.js';
import { PYTHON_PACKAGES_DIR } from '../../languages/python-build.js';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive, packDirectory } from '../../store/archive/index.js';
import { oprError } from './errors.js';

const gzipAsync = promisify(gzip);

/** Characters of build output kept (upstream: 1 MB; the start is kept, as upstream's). */
export const MAX_OUTPUT_CHARS = 1024 * 1024;

export interface OutputEntry {
  timestamp: string;
  content: string;
}

/** Upstream's timestamp: ISO 8601 with milliseconds and `+00:00`. */
export function oprTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '+00:00');
}

/** Where a build's output goes: the reply's entries (bounded) and the live log stream. */
export class BuildOutput {
  readonly entries: OutputEntry[] = [];
  private chars = 0;

  constructor(private readonly onEntry: (entry: OutputEntry) => void = () => {}) {}

  add(content: string): void {
    if (content === '') return;
    const entry = { timestamp: oprTimestamp(), content };
    this.onEntry(entry);
    if (this.chars >= MAX_OUTPUT_CHARS) return;
    const kept = content.slice(0, MAX_OUTPUT_CHARS - this.chars);
    this.chars += kept.length;
    this.entries.push({ ...entry, content: kept });
  }

  text(): string {
    return this.entries.map((entry) => entry.content).join('');
  }
}

const UNPACK =
  /^(?:tar\s+-?[a-z]*x[a-z]*\s+\S*code\.tar(?:\.gz)?\b[^&|;]*|cp\s+\S*code\.tar(?:\.gz)?\s+\S+)$/;
const BUILD_SH = /(?:(?:bash|sh)\s+)?(?:\.\/|\/usr\/local\/server\/)?helpers\/build\.sh(?=\s|$)/;

/**
 * The quoted argument `text` starts with (double quotes with their escapes, or single quotes) as its
 * value, and what follows it: `"a \"b\"" && x` → [`a "b"`, `&& x`]. Unquoted text is all the argument.
 */
function firstWord(text: string): [string, string] {
  const input = text.trimStart();
  const quote = input[0];
  if (quote === '"' || quote === "'") {
    let value = '';
    for (let i = 1; i < input.length; i++) {
      const char = input[i] as string;
      if (char === quote) return [value, input.slice(i + 1).trim()];
      if (
        quote === '"' &&
        char === '\\' &&
        i + 1 < input.length &&
        '"\\$`'.includes(input[i + 1] as string)
      ) {
        value += input[i + 1];
        i++;
      } else value += char;
    }
    return [input.slice(1), ''];
  }
  return [input.trim(), ''];
}

/**
 * The line Skiff runs for upstream's build `command`. Upstream's form, steps that unpack the source
 * (Skiff has done that) then `helpers/build.sh "<install>"`, becomes `<install>`; what the command
 * chains after build.sh (`&& echo done`) follows it, the install grouped so the chain sees its exit
 * status as upstream's sees build.sh's. Any other command runs as written, in the code folder.
 */
export function installLine(command: string): string {
  const match = BUILD_SH.exec(command);
  if (match === null) return command.trim();
  const before = command.slice(0, match.index).trim().replace(/&&$/, '').trim();
  const steps = before === '' ? [] : before.split('&&').map((step) => step.trim());
  if (!steps.every((step) => UNPACK.test(step))) return command.trim();
  const [install, rest] = firstWord(command.slice(match.index + match[0].length));
  if (rest === '') return install;
  return install.trim() === '' ? `true ${rest}` : `{ ${install}\n} ${rest}`;
}

/** The source of a runtime created without one: an empty folder, packed. */
export async function emptySource(): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'skiff-opr-empty-'));
  try {
    return await packDirectory(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A stored source as Skiff's archive reader takes it: a plain tar (what a build with
 * `OPEN_RUNTIMES_BUILD_COMPRESSION=none` stores, and clients later run) gzipped; tar.gz and zip as they are.
 */
export async function readableArchive(bytes: Buffer): Promise<Buffer> {
  const isPlainTar = bytes.length >= 262 && bytes.subarray(257, 262).toString('latin1') === 'ustar';
  return isPlainTar ? gzipAsync(bytes, { level: 1 }) : bytes;
}

/** Unpacks a stored source (tar.gz, tar or zip) into `dir`. */
export async function unpackSource(bytes: Buffer, dir: string, maxBytes: number): Promise<void> {
  const archive = await readableArchive(bytes);
  await extractArchive(archive, dir, { maxPackedBytes: Math.max(maxBytes, archive.length) });
}

/**
 * Packs folder `dir` (symbolic links left out: node_modules/.bin) as tar.gz, or tar when `gzip` is
 * false. A folder Skiff's deploy would refuse (more file bytes or entries than an upload may unpack
 * to, or packed larger than `maxBytes`, build.maxUploadBytes) is the build's failure: its size is
 * counted before anything is packed, so a build that wrote gigabytes is not read into memory.
 */
export async function packArtifact(dir: string, gzip: boolean, maxBytes: number): Promise<Buffer> {
  const { maxUnpackedBytes, maxEntries } = DEFAULT_ARCHIVE_LIMITS;
  let bytes = 0;
  let entries = 0;
  const exclude = (rel: string): boolean => {
    let info;
    try {
      info = lstatSync(path.join(dir, rel));
    } catch {
      return true;
    }
    if (!info.isFile() && !info.isDirectory()) return true;
    entries += 1;
    if (info.isFile()) bytes += info.size;
    if (bytes > maxUnpackedBytes || entries > maxEntries) {
      throw oprError(
        'build_failed',
        `The build output is larger than an artifact may be (${maxUnpackedBytes} bytes or ${maxEntries} files).`,
      );
    }
    return false;
  };
  const packed = await packDirectory(dir, { exclude });
  if (packed.length > maxBytes) {
    throw oprError(
      'build_failed',
      `The build output packs to ${packed.length} bytes, more than the ${maxBytes} accepted (build.maxUploadBytes).`,
    );
  }
  return gzip ? packed : gunzipSync(packed);
}

export interface BuildInput {
  builds: ForeignBuilds;
  source: Buffer;
  command: string;
  env: Record<string, string>;
  /** Python: `pip install` goes where the bridge reads packages (PIP_TARGET). */
  pythonPackages: boolean;
  timeoutMs: number;
  /** The largest archive accepted (build.maxUploadBytes). */
  maxBytes: number;
  output: BuildOutput;
}

/** Runs a build in a new work folder and returns it (the caller discards it). */
export async function runBuild(input: BuildInput): Promise<string> {
  const { builds, output } = input;
  const workDir = await builds.open();
  try {
    output.add('Environment preparation started.\n');
    await unpackSource(input.source, workDir, input.maxBytes);
    output.add('Environment preparation finished.\n');
    const line = installLine(input.command);
    output.add('Build command execution started.\n');
    if (line !== '') {
      const result = await builds.run(workDir, {
        line,
        env: input.pythonPackages
          ? { ...input.env, PIP_TARGET: path.posix.join(builds.dirOf(workDir), PYTHON_PACKAGES_DIR) }
          : input.env,
        timeoutMs: input.timeoutMs,
        onOutput: (text) => output.add(text),
      });
      if (result.timedOut) {
        throw oprError('runtime_timeout', 'Timed out waiting for runtime.');
      }
      if (result.code !== 0) {
        const text = output.text();
        const code = result.code ?? 1;
        const separator = text === '' || text.endsWith('\n') ? '' : '\n';
        throw oprError('build_failed', `${text}${separator}Build command exited with code ${code}.`);
      }
    }
    output.add('Build command execution finished.\n');
    return workDir;
  } catch (err) {
    await builds.discard(workDir);
    throw err;
  }
}
