// (C) Connection handoff: the gateway accepts the TCP connection and passes its fd to the instance over
// Node's IPC channel (a Unix socketpair; the fd travels as SCM_RIGHTS). argv[2] = 'bwrap' runs the
// instance inside bubblewrap with the same namespaces the platform's sandbox unshares.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const script = new URL('./handoff-instance.mjs', import.meta.url).pathname;
const sandboxed = process.argv[2] === 'bwrap';
const channelFd = 3;
const instance = sandboxed
  ? spawn(
      'bwrap',
      [
        '--unshare-all', // user, ipc, pid, net, uts, cgroup: the child has no network of its own
        '--unshare-user',
        '--die-with-parent',
        '--new-session',
        '--cap-drop',
        'ALL',
        '--ro-bind',
        '/',
        '/',
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        '--tmpfs',
        '/tmp',
        '--clearenv',
        '--setenv',
        'NODE_CHANNEL_FD',
        String(channelFd),
        '--setenv',
        'NODE_CHANNEL_SERIALIZATION_MODE',
        'json',
        process.execPath,
        script,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    )
  : spawn(process.execPath, [script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await new Promise((resolve, reject) => {
  instance.once('message', resolve);
  instance.once('exit', (code) => reject(new Error(`instance exited ${code}`)));
});

const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
  instance.send('conn', socket); // keepOpen false: the gateway's copy is closed once sent
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, pids: [instance.pid] })}\n`);
});
process.on('SIGTERM', () => {
  instance.kill('SIGTERM');
  process.exit(0);
});
