/**
 * `skiff fn traffic <name> 3=90 4=10`: splits a function's calls between versions by whole percents;
 * `5=100` or `--clear` gives them all to one version again.
 */
import type { Command } from 'commander';
import { SkiffClient } from './client.js';
import { globalOptions, usageError, withExamples } from './options.js';
import { printJson } from './output.js';

interface TrafficAnswer {
  function: string;
  liveVersion: number;
  traffic: { version: number; percent: number }[];
}

const SHARE = /^(\d{1,10})=(\d{1,3})%?$/;

/** `3=90` → { version: 3, percent: 90 }; the platform judges the rest (sum, count, versions). */
function parseShare(text: string): { version: number; percent: number } {
  const match = SHARE.exec(text);
  if (match === null) {
    throw usageError(
      `${JSON.stringify(text)}: write each share as <version>=<percent>, e.g. 3=90`,
      'skiff fn traffic',
    );
  }
  return { version: Number(match[1]), percent: Number(match[2]) };
}

export function registerTraffic(fn: Command): void {
  withExamples(
    fn
      .command('traffic')
      .description(
        'split calls between versions by percent (2 to 4 ready versions, summing to 100); a deploy or a rollback ends the split',
      )
      .argument('<name>', 'function name')
      .argument('[shares...]', '<version>=<percent> each, e.g. 3=90 4=10')
      .option('--clear', 'end the split: the live version (the largest share) takes every call')
      .action((name: string, shares: string[], opts: { clear?: boolean }, cmd: Command) =>
        traffic(name, shares, opts, cmd),
      ),
    'skiff fn traffic hello 3=90 4=10',
    'skiff fn traffic hello 4=100',
    'skiff fn traffic hello --clear',
  );
}

async function traffic(
  name: string,
  shares: string[],
  opts: { clear?: boolean },
  cmd: Command,
): Promise<void> {
  const { json, target } = globalOptions(cmd);
  if (opts.clear === true && shares.length > 0) {
    throw usageError('give either shares or --clear, not both', 'skiff fn traffic');
  }
  if (opts.clear !== true && shares.length === 0) {
    throw usageError('give the shares (e.g. 3=90 4=10) or --clear', 'skiff fn traffic');
  }
  const split = opts.clear === true ? null : shares.map(parseShare);
  const { body } = await new SkiffClient(target).api<TrafficAnswer>(
    'PUT',
    `/v1/functions/${encodeURIComponent(name)}/traffic`,
    {
      body: Buffer.from(JSON.stringify({ split })),
      headers: { 'content-type': 'application/json' },
    },
  );
  if (json) printJson(body);
  else if (body.traffic.length === 1) console.log(`✔ ${name}: version ${body.liveVersion} takes every call`);
  else
    console.log(
      `✔ ${name}: ${body.traffic.map((t) => `version ${t.version} ${t.percent}%`).join(', ')} (live: version ${body.liveVersion})`,
    );
}
