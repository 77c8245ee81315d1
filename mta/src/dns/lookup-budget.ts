// A per-message time budget for DNS: the checks of one message (SPF with its includes, every
// DKIM key, ARC, DMARC) share `budgetMs` in total. A lookup still unanswered when the budget
// runs out fails with ETIMEOUT at once (the checks record temperror), and every lookup after
// that fails at once too, so a message never waits on DNS longer than its budget, however
// many lookups a hostile SPF record asks for. The abandoned lookups run on to their own
// timeout and their answers still fill the cache.
//
// The resolver it returns has mailauth's shape: `(name, type) => Promise<records>`.
import type { CachingResolver } from './dns-cache.ts';
import { DnsError, type LookupType, type RecordValue } from './dns-client.ts';

export type BudgetedLookup = (name: string, type: string) => Promise<RecordValue[]>;

export interface LookupBudget {
  readonly resolver: BudgetedLookup;
  /** True once a lookup was cut short by the budget. */
  exhausted(): boolean;
  /** Lookups asked for so far (for the log). */
  lookups(): number;
}

export interface LookupBudgetOptions {
  readonly cache: Pick<CachingResolver, 'resolve'>;
  readonly budgetMs: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export const defaultLookupBudgetMs = 10_000;

const supported = new Set<string>(['A', 'AAAA', 'TXT', 'MX', 'PTR', 'CNAME']);

export function createLookupBudget(options: LookupBudgetOptions): LookupBudget {
  const now = options.now ?? Date.now;
  const deadline = now() + options.budgetMs;
  let cut = false;
  let count = 0;

  const resolver: BudgetedLookup = async (name, type) => {
    count++;
    if (!supported.has(type)) throw new DnsError('ENOTIMP', `lookups of ${type} records are not supported`);
    const left = deadline - now();
    if (left <= 0) {
      cut = true;
      throw new DnsError('ETIMEOUT', `DNS budget of ${options.budgetMs} ms used up before ${type} ${name}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        cut = true;
        reject(new DnsError('ETIMEOUT', `DNS budget of ${options.budgetMs} ms ran out during ${type} ${name}`));
      }, left);
    });
    try {
      return await Promise.race([options.cache.resolve(name, type as LookupType), expired]);
    } finally {
      clearTimeout(timer);
    }
  };

  return { resolver, exhausted: () => cut, lookups: () => count };
}
