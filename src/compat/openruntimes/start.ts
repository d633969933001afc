/**
 * Starts the executor API of an enabled Open Runtimes dialect: its runtime records, its storage, its
 * listener and the reaper of idle runtimes (every `maintenanceIntervalS`, those idle for more than
 * `inactiveThresholdS`, never one with an execution in flight).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { RunningTrigger, TriggerContext } from '../../triggers/types.js';
import type { DialectContext } from '../dialect.js';
import { startExecutorApi } from './executor-api.js';
import type { OpenRuntimesSection } from './index.js';
import { LogHub } from './log-hub.js';
import { Runtimes } from './runtimes.js';
import { RuntimeStore } from './runtime-store.js';
import { FileStorage } from './storage.js';

export async function startOpenRuntimes(
  ctx: DialectContext,
  section: OpenRuntimesSection,
  version: string,
  trigger: TriggerContext,
): Promise<RunningTrigger> {
  const { config } = ctx;
  const root =
    section.storageRoot === '' ? path.join(config.dataDir, 'openruntimes', 'storage') : section.storageRoot;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const store = new RuntimeStore(path.join(config.dataDir, 'openruntimes.db'));
  const hub = new LogHub();
  const runtimes = new Runtimes({
    store,
    hub,
    builds: ctx.builds,
    deployer: ctx.deployer,
    registry: ctx.registry,
    storage: new FileStorage(root, config.build.maxUploadBytes),
    logger: ctx.logger,
    versions: section.runtimeVersions,
    maxRuntimes: section.maxRuntimes,
    maxBuildMs: config.build.timeoutMs,
    maxArchiveBytes: config.build.maxUploadBytes,
    functionTimeoutMs: config.functions.maxTimeoutMs,
  });
  let api: Awaited<ReturnType<typeof startExecutorApi>>;
  try {
    api = await startExecutorApi(
      {
        host: section.host,
        port: section.port,
        secret: section.secret,
        version,
        runtimes,
        hub,
        logs: ctx.logs,
        commands: { builds: ctx.builds, codeDir: ctx.codeDir, maxMs: config.build.timeoutMs },
        logger: trigger.logger,
      },
      trigger.invoke,
    );
  } catch (err) {
    store.close();
    throw err;
  }
  let reaping = false;
  const reaper = setInterval(() => {
    if (reaping) return;
    reaping = true;
    void runtimes
      .reap(section.inactiveThresholdS * 1000)
      .then((removed) => {
        if (removed.length > 0) trigger.logger.info({ removed }, 'removed idle Open Runtimes runtimes');
      })
      .finally(() => {
        reaping = false;
      });
  }, section.maintenanceIntervalS * 1000);
  reaper.unref();
  return {
    endpoint: { name: 'openruntimes', url: api.url },
    notes: [`Open Runtimes executor API: ${api.url}/v1 (storage root ${root})`],
    async stop() {
      clearInterval(reaper);
      await api.stop();
      store.close();
    },
  };
}
