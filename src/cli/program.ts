/**
 * The `skiff` command tree: one `register*` per noun, commander's usage errors mapped to our
 * template, and the version read from package.json. `main.ts` runs it; tests walk it.
 */
import { Command, type CommanderError } from 'commander';
import { registerBackup } from './backup.js';
import { registerCompat } from './compat.js';
import { registerDev } from './dev.js';
import { registerFn } from './fn.js';
import { registerInit } from './init.js';
import { addJsonHelp } from './json-output.js';
import { registerInvocation } from './invocation.js';
import { registerInvoke } from './invoke.js';
import { registerLogin } from './login.js';
import { registerLogs } from './logs.js';
import { addGlobalOptions, commandPath, usageError, withExamples } from './options.js';
import { withHint } from './output.js';
import { registerRuntime } from './runtime.js';
import { registerSecret } from './secret.js';
import { registerServe } from './serve.js';
import { registerState } from './state.js';
import { registerWorkflow } from './workflow.js';
import { registerStatus } from './status.js';
import { skiffVersion } from '../shared/version.js';

export function buildProgram(): Command {
  const program = new Command('skiff')
    .description('Skiff: a lightweight Function-as-a-Service platform for the edge and the cloud')
    .version(skiffVersion(), '-v, --version', 'print the Skiff version')
    .helpOption('-h, --help', 'show help for a command')
    .configureOutput({ outputError: () => undefined }) // commander's errors are printed in our template
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false });
  addGlobalOptions(program);
  withExamples(
    program,
    'skiff serve',
    'skiff fn deploy ./hello',
    'skiff invoke hello',
    'skiff logs hello',
    'skiff fn --help',
  );
  registerServe(program);
  registerLogin(program);
  registerFn(program);
  registerInit(program);
  registerDev(program);
  registerInvoke(program);
  registerInvocation(program);
  registerLogs(program);
  registerSecret(program);
  registerBackup(program);
  registerState(program);
  registerWorkflow(program);
  registerRuntime(program);
  registerStatus(program);
  registerCompat(program);
  addJsonHelp(program);
  installExitOverrides(program);
  return program;
}

/** Commander's own usage errors become SKIFF_E_CLI_USAGE, pointing at the failing command's help. */
function installExitOverrides(cmd: Command): void {
  const where = commandPath(cmd);
  cmd.exitOverride((err: CommanderError) => {
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    ) {
      throw err;
    }
    // commander appends suggestions as a second line: "(Did you mean fn?)"
    const [first = '', ...rest] = err.message.replace(/^error: /, '').split('\n');
    const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(' '))?.[1];
    const error = usageError(first, where);
    if (suggestion !== undefined)
      withHint(error, `did you mean \`${suggestion}\`? Run \`${where} --help\` for usage`);
    throw error;
  });
  for (const sub of cmd.commands) installExitOverrides(sub);
}
