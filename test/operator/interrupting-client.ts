// Wraps the operator's real API client to stop it dead after a number of writes, as if
// the process were killed right after that write landed: every later call fails and
// nothing more reaches the API server (not even a lease renewal).
import type { KubeClient } from '../../operator/src/kube/client.ts';

const writes = new Set(['apply', 'createIfAbsent', 'applyStatus', 'annotate', 'delete']);

export interface Interrupting {
  client: KubeClient;
  /** Writes that reached the API server. */
  writes(): number;
  killed(): boolean;
  /** What each write was, for diagnostics: "apply Secret ns/name". */
  log: string[];
  /** From now on every call fails, as if the process had died. */
  kill(): void;
}

export function interruptAfter(real: KubeClient, allowedWrites: number): Interrupting {
  let count = 0;
  let dead = false;
  const log: string[] = [];
  const describe = (property: string, args: unknown[]) => {
    const o = args[0] as { kind?: string; metadata?: { namespace?: string; name?: string }; namespace?: string; name?: string } | undefined;
    return `${property} ${o?.kind ?? ''} ${o?.metadata?.namespace ?? o?.namespace ?? ''}/${o?.metadata?.name ?? o?.name ?? ''}`;
  };
  const client = new Proxy(real, {
    get(target, property: string) {
      const original = (target as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[property];
      if (typeof original !== 'function') return original;
      return async (...args: unknown[]) => {
        if (dead) throw new Error('killed');
        if (writes.has(property)) {
          if (count >= allowedWrites) {
            dead = true;
            throw new Error('killed');
          }
          const result = await original.apply(target, args);
          count += 1;
          log.push(describe(property, args));
          if (count >= allowedWrites) dead = true;
          return result;
        }
        return await original.apply(target, args);
      };
    },
  });
  return {
    client,
    writes: () => count,
    killed: () => dead,
    log,
    kill: () => {
      dead = true;
    },
  };
}
