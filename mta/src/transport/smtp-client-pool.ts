// Connection reuse and per-destination concurrency for outbound SMTP, per pod.
//
// DestinationLimiter: at most `limit` transactions at a time toward one destination key
// (a relay's limits.connections, or a default for MX domains), so a slow or dead
// destination holds a bounded number of slots and never the others' (docs/architecture.md §2 contract 3).
// Waiters are served in arrival order and give up when their attempt's signal aborts.
//
// ConnectionPool: idle connections kept per connection key (relay identity, address, port, SNI name,
// TLS mode, login and a keyed hash of its credentials: remote-smtp.ts poolKey)
// after a successful RSET, for `idleMs`, and for at most `maxMessages` messages each, so
// several messages to one destination share a connection. A connection the server closed
// while idle is dropped, never handed out.
//
// RatePacer: a relay's limits.messagesPerSecond, per pod.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SmtpClientConnection } from './smtp-client.ts';

export class DestinationLimiter {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  /** Waits for a slot; resolves to a release function, or null if `signal` aborted first. */
  async acquire(key: string, limit: number, signal: AbortSignal): Promise<(() => void) | null> {
    if (signal.aborted) return null;
    if ((this.active.get(key) ?? 0) < limit) return this.take(key);
    return await new Promise((resolve) => {
      const queue = this.waiting.get(key) ?? [];
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.take(key));
      };
      const onAbort = () => {
        const q = this.waiting.get(key);
        const i = q ? q.indexOf(wake) : -1;
        if (q && i >= 0) q.splice(i, 1);
        resolve(null);
      };
      queue.push(wake);
      this.waiting.set(key, queue);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Transactions now running toward `key`. */
  inFlight(key: string): number {
    return this.active.get(key) ?? 0;
  }

  private take(key: string): () => void {
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(key)?.shift();
      // Hand the slot straight to the next waiter, or give it back.
      this.active.set(key, (this.active.get(key) ?? 1) - 1);
      if (next) next();
      if ((this.active.get(key) ?? 0) === 0 && !this.waiting.get(key)?.length) {
        this.active.delete(key);
        this.waiting.delete(key);
      }
    };
  }
}

export interface ConnectionPoolOptions {
  readonly idleMs?: number;
  readonly maxMessages?: number;
}

interface Idle {
  readonly connection: SmtpClientConnection;
  readonly timer: NodeJS.Timeout;
}

export class ConnectionPool {
  private readonly idle = new Map<string, Idle[]>();
  private readonly idleMs: number;
  private readonly maxMessages: number;

  constructor(options: ConnectionPoolOptions = {}) {
    this.idleMs = options.idleMs ?? 5_000;
    this.maxMessages = options.maxMessages ?? 100;
  }

  /** An idle, still open connection for `key`, or undefined. */
  take(key: string): SmtpClientConnection | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const entry = list.pop()!;
      clearTimeout(entry.timer);
      if (!entry.connection.closed) return entry.connection;
    }
    return undefined;
  }

  /** Keeps a connection (already RSET) for reuse, or closes it when it has done enough. */
  give(key: string, connection: SmtpClientConnection): void {
    if (connection.closed) return;
    if (connection.messagesSent >= this.maxMessages || this.idleMs <= 0) {
      connection.quit();
      return;
    }
    const list = this.idle.get(key) ?? [];
    const timer = setTimeout(() => {
      const current = this.idle.get(key);
      const i = current?.findIndex((e) => e.connection === connection) ?? -1;
      if (current && i >= 0) current.splice(i, 1);
      connection.quit();
    }, this.idleMs);
    timer.unref();
    list.push({ connection, timer });
    this.idle.set(key, list);
  }

  /** Number of idle connections kept for `key`. */
  idleCount(key: string): number {
    return this.idle.get(key)?.filter((e) => !e.connection.closed).length ?? 0;
  }

  /** Closes every idle connection (shutdown). */
  closeAll(): void {
    for (const list of this.idle.values()) {
      for (const entry of list) {
        clearTimeout(entry.timer);
        entry.connection.quit();
      }
    }
    this.idle.clear();
  }
}

/**
 * Spaces messages to one key (a relay) at most `perSecond` apart, per pod: each caller
 * reserves the next free start time and waits for it. A caller whose signal aborts while
 * waiting gives up (its reserved slot is simply left unused).
 */
export class RatePacer {
  private readonly next = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Resolves true when a message may start, false if `signal` aborted first. */
  async wait(key: string, perSecond: number, signal: AbortSignal): Promise<boolean> {
    const now = this.now();
    const at = Math.max(now, this.next.get(key) ?? 0);
    this.next.set(key, at + 1000 / perSecond);
    if (at <= now) return !signal.aborted;
    try {
      await sleep(at - now, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }
}
