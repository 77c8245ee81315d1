// Open connections per client IP on one listener, so one address cannot take every slot
// (docs/reliability.md §3 scenario 30). Counted in the process; each pod limits its own share.
// IPv6 clients count per /64 (policy/client-key.ts).
import { clientKey } from '../policy/client-key.ts';

export interface ConnectionCounter {
  /** Registers a connection; false (and nothing registered) when the IP is at its limit. */
  open(id: string, ip: string): boolean;
  /** Forgets a connection registered by open(); unknown ids are ignored. */
  close(id: string): void;
  count(ip: string): number;
}

export function createConnectionCounter(limit: number): ConnectionCounter {
  const byIp = new Map<string, number>();
  const ipOf = new Map<string, string>();
  return {
    open(id, address) {
      const ip = clientKey(address);
      const n = byIp.get(ip) ?? 0;
      if (n >= limit) return false;
      byIp.set(ip, n + 1);
      ipOf.set(id, ip);
      return true;
    },
    close(id) {
      const ip = ipOf.get(id);
      if (ip === undefined) return;
      ipOf.delete(id);
      const n = (byIp.get(ip) ?? 1) - 1;
      if (n <= 0) byIp.delete(ip);
      else byIp.set(ip, n);
    },
    count: (ip) => byIp.get(clientKey(ip)) ?? 0,
  };
}
