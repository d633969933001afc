# workerd baseline: one worker, one HTTP socket. The bench overrides the address with
# `--socket-addr http=127.0.0.1:<port>`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .helloWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const helloWorker :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "hello.js") ],
  compatibilityDate = "2024-09-23",
);
