/**
 * The platform log for people: each of pino's JSON lines as one line of text (time, level, message,
 * then the other fields as key=value), for `skiff serve` on a terminal. JSON stays the format for
 * files, pipes and log collectors (`logFormat`).
 */
import { Writable } from 'node:stream';
import { styleText } from 'node:util';

const LEVELS: Readonly<Record<number, { name: string; style: Parameters<typeof styleText>[0] }>> = {
  10: { name: 'TRACE', style: 'gray' },
  20: { name: 'DEBUG', style: 'gray' },
  30: { name: 'INFO ', style: 'green' },
  40: { name: 'WARN ', style: 'yellow' },
  50: { name: 'ERROR', style: 'red' },
  60: { name: 'FATAL', style: 'red' },
};

/** Fields every line has, or that the line already shows. */
const SHOWN = new Set(['level', 'time', 'msg', 'svc', 'pid', 'hostname']);

/** One pino JSON line as text; a line that is not JSON is passed on as it is. */
export function humanLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  if (typeof entry !== 'object' || entry === null) return json;
  const level = LEVELS[Number(entry['level'])] ?? { name: String(entry['level']), style: 'white' as const };
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toISOString().slice(11, 23) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const name = colour ? styleText(level.style, level.name) : level.name;
  const text = `${time} ${name} ${typeof entry['msg'] === 'string' ? entry['msg'] : ''}`;
  return fields.length === 0
    ? text
    : `${text}  ${colour ? styleText('gray', fields.join(' ')) : fields.join(' ')}`;
}

/** A stream for pino that writes each line to `out` as text. */
export function humanStream(out: NodeJS.WritableStream, colour: boolean): Writable {
  let rest = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line !== '') out.write(`${humanLine(line, colour)}\n`);
      done();
    },
    final(done) {
      if (rest !== '') out.write(`${humanLine(rest, colour)}\n`);
      done();
    },
  });
}
