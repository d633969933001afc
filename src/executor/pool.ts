import type { Invocation, Result } from '../invoke/types.js';
import type { Deployment } from './deployment.js';
import type { Instance } from './instance.js';

/**
 * The instances of one deployment. For now one instance, started on first use and replaced when it
 * dies; the scaling issue grows this into many.
 */
export class Pool {
  private instance: Instance | undefined;
  private starting: Promise<Instance> | undefined;
  private draining = false;

  constructor(
    readonly deployment: Deployment,
    private readonly create: (deployment: Deployment) => Instance,
  ) {}

  get instances(): Instance[] {
    return this.instance === undefined ? [] : [this.instance];
  }

  get inFlight(): number {
    return this.instance?.inFlight ?? 0;
  }

  async invoke(inv: Invocation, timeoutMs: number): Promise<Result> {
    const instance = await this.ready();
    return instance.invoke(inv, timeoutMs);
  }

  /** Resolves with a ready instance, starting one if there is none. */
  ready(): Promise<Instance> {
    const live = this.instance;
    // After a timeout the instance is probed; wait for the verdict rather than queue behind a hung loop.
    const probing = live?.probing;
    if (probing !== undefined) return probing.then(() => this.ready());
    if (live !== undefined && live.state === 'ready') return Promise.resolve(live);
    if (this.starting !== undefined) return this.starting;
    const instance = this.create(this.deployment);
    this.instance = instance;
    this.starting = instance
      .start()
      .then(() => instance)
      .finally(() => {
        this.starting = undefined;
      });
    this.starting.catch(() => {
      if (this.instance === instance) this.instance = undefined;
    });
    return this.starting;
  }

  /** Stops taking work, lets in-flight invocations finish (up to graceMs) and stops every instance. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    await this.starting?.catch(() => undefined);
    await Promise.all(this.instances.map((instance) => instance.stop(graceMs)));
    this.instance = undefined;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}
