# Template for plain `workerd serve` (bench/floor-servers.mjs fills in the storage directory, the
# address and the fixture's file name, and writes it next to a copy of the fixture): the same
# Worker and Durable Object as under wrangler dev, SQLite-backed storage on a temporary
# directory, no entry proxy.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .hub),
    (name = "do-disk", disk = (path = "@DO_DIR@", writable = true)),
  ],
  sockets = [ (name = "http", address = "@ADDRESS@", http = (), service = "main") ],
);

const hub :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "@MAIN@") ],
  compatibilityDate = "2026-11-02",
  durableObjectNamespaces = [ (className = "Hub", uniqueKey = "runtime-floor-hub", enableSql = true) ],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [ (name = "HUB", durableObjectNamespace = "Hub") ],
);
