/**
 * The build log stream of `GET /v1/runtimes/:id/logs`: what a runtime's build prints, for clients
 * that watch it while `POST /v1/runtimes` runs (they may ask before the runtime exists). A runtime's
 * channel opens when its creation starts and closes when it ends; a watcher gets what was printed so
 * far (bounded), then each entry, then the end.
 */
import { EventEmitter } from 'node:events';
import { MAX_OUTPUT_CHARS, type OutputEntry } from './build-step.js';

interface Channel {
  backlog: OutputEntry[];
  chars: number;
  done: boolean;
  events: EventEmitter;
}

export interface Watcher {
  entry(entry: OutputEntry): void;
  end(): void;
}

export class LogHub {
  private readonly channels = new Map<string, Channel>();
  /** Told the id of each channel that opens (watchers waiting for their runtime). */
  private readonly opened = new EventEmitter();

  constructor() {
    this.opened.setMaxListeners(0);
  }

  open(runtimeId: string): (entry: OutputEntry) => void {
    const channel: Channel = { backlog: [], chars: 0, done: false, events: new EventEmitter() };
    channel.events.setMaxListeners(0);
    this.channels.set(runtimeId, channel);
    this.opened.emit('open', runtimeId);
    return (entry) => {
      if (channel.chars < MAX_OUTPUT_CHARS) {
        channel.backlog.push(entry);
        channel.chars += entry.content.length;
      }
      channel.events.emit('entry', entry);
    };
  }

  close(runtimeId: string): void {
    const channel = this.channels.get(runtimeId);
    if (channel === undefined) return;
    channel.done = true;
    this.channels.delete(runtimeId);
    channel.events.emit('end');
  }

  isOpen(runtimeId: string): boolean {
    return this.channels.has(runtimeId);
  }

  /**
   * Follows the channel of `runtimeId`, waiting for it to open when `wait` is set; returns the
   * function that stops following. `watcher.end` is called once: at the channel's end, or at once
   * when there is none to follow.
   */
  follow(runtimeId: string, watcher: Watcher, wait: boolean): () => void {
    let stopped = false;
    let detach = (): void => {};
    const attach = (channel: Channel): void => {
      for (const entry of channel.backlog) watcher.entry(entry);
      const onEntry = (entry: OutputEntry): void => watcher.entry(entry);
      const onEnd = (): void => {
        detach();
        watcher.end();
      };
      channel.events.on('entry', onEntry);
      channel.events.once('end', onEnd);
      detach = () => {
        channel.events.off('entry', onEntry);
        channel.events.off('end', onEnd);
      };
    };
    const channel = this.channels.get(runtimeId);
    if (channel !== undefined) attach(channel);
    else if (!wait) {
      watcher.end();
      return () => {};
    } else {
      const onOpen = (id: string): void => {
        if (id !== runtimeId || stopped) return;
        this.opened.off('open', onOpen);
        const opened = this.channels.get(runtimeId);
        if (opened !== undefined) attach(opened);
      };
      this.opened.on('open', onOpen);
      detach = () => this.opened.off('open', onOpen);
    }
    return () => {
      stopped = true;
      detach();
    };
  }
}
