/**
 * How `skiff fn deploy` shows a build as it runs: the current step after the spinner's label (on a
 * terminal), and each line of the build log on stderr, under a `│` (on a terminal above the spinner).
 * When stderr is not a terminal the steps are lines too (`» installing dependencies`). Stdout keeps
 * only the result.
 */
import { SkiffError } from '../shared/errors.js';
import type { DeployEvents } from './deploy-request.js';
import { hintFor, withHint, type Spinner } from './output.js';

/** Control characters (ANSI escapes from a build) are not sent to the user's terminal. */
function printable(line: string): string {
  return (
    line
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
  );
}

/** What was shown: lines, and whether some were left out on the way (then the error repeats the log). */
export interface Shown {
  lines: number;
  cut: boolean;
}

export function buildEvents(spinner: Spinner, stepsAsLines: boolean, shown: Shown): DeployEvents {
  const print = (text: string): void => spinner.interrupt(() => process.stderr.write(`${text}\n`));
  return {
    step: (name) => {
      spinner.detail(`(${printable(name)})`);
      if (stepsAsLines) print(`» ${printable(name)}`);
    },
    output: (line, cut) => {
      shown.lines += 1;
      if (cut) shown.cut = true;
      print(`  │ ${printable(line)}`);
    },
  };
}

/** The error of a deploy whose build lines were shown already: its build log left out of the details. */
export function withoutBuildLog(err: unknown): unknown {
  if (!(err instanceof SkiffError)) return err;
  const details = err.details as { buildLog?: unknown } | undefined;
  if (details === undefined || typeof details !== 'object' || details.buildLog === undefined) return err;
  const { buildLog: _shown, ...rest } = details;
  const copy = new SkiffError(err.code, err.message, {
    details: rest,
    ...(err.retryAfterSec === undefined ? {} : { retryAfterSec: err.retryAfterSec }),
  });
  const hint =
    err.code === 'SKIFF_E_BUILD_FAILED'
      ? 'fix the error in the build output above, then deploy again'
      : hintFor(err);
  return hint === undefined ? copy : withHint(copy, hint);
}
