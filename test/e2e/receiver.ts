// Counts the load's messages where they end up: the Dovecot maildir the MTA pods deliver
// to by LMTP. Every delivered copy is one file; its X-E2E-Id header is the message's id
// (load.ts). Files are read once, so counting again only reads what arrived since.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MaildirCounter {
  /** Copies delivered per id, for ids starting with `prefix`. */
  copies(prefix: string): Map<string, number>;
}

export function countMaildir(maildir: string): MaildirCounter {
  const seen = new Set<string>();
  const ids: string[] = [];
  const scan = () => {
    for (const sub of ['new', 'cur']) {
      let files: string[];
      try {
        files = readdirSync(join(maildir, sub));
      } catch {
        continue;
      }
      for (const f of files) {
        // Dovecot renames new/x to cur/x:2,S when read: the part before ':' stays the same.
        const key = f.split(':')[0]!;
        if (seen.has(key)) continue;
        let text: string;
        try {
          text = readFileSync(join(maildir, sub, f), 'utf8');
        } catch {
          continue; // moved between readdir and read; found in the other folder next time
        }
        seen.add(key);
        const id = /^X-E2E-Id: (\S+)/im.exec(text)?.[1];
        if (id) ids.push(id);
      }
    }
  };
  return {
    copies(prefix) {
      scan();
      const out = new Map<string, number>();
      for (const id of ids) if (id.startsWith(prefix)) out.set(id, (out.get(id) ?? 0) + 1);
      return out;
    },
  };
}

export interface Tally {
  readonly accepted: number;
  readonly delivered: number;
  readonly lost: readonly string[];
  readonly duplicated: number;
}

/**
 * Waits until every accepted id has arrived, or nothing new has arrived for `quietMs`, or
 * `timeoutMs` has passed (the ids still missing are lost), then tallies.
 */
export async function settle(counter: MaildirCounter, prefix: string, accepted: readonly string[], o: { quietMs: number; timeoutMs: number }): Promise<Tally> {
  const deadline = Date.now() + o.timeoutMs;
  let lastCount = -1;
  let lastChange = Date.now();
  for (;;) {
    const copies = counter.copies(prefix);
    const total = [...copies.values()].reduce((a, b) => a + b, 0);
    if (total !== lastCount) {
      lastCount = total;
      lastChange = Date.now();
    }
    const lost = accepted.filter((id) => !copies.has(id));
    if (lost.length === 0 || Date.now() - lastChange > o.quietMs || Date.now() > deadline) {
      // Duplicates: every copy beyond the first of a message (accepted or not: a message
      // whose 250 was lost on the way and then sent again is delivered twice).
      const duplicated = [...copies.values()].reduce((a, n) => a + (n - 1), 0);
      return { accepted: accepted.length, delivered: accepted.length - lost.length, lost, duplicated };
    }
    await sleep(1_000);
  }
}
