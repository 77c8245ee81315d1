// The DNS side of domain ownership (docs/trust-model.md §6):
// looks up each claim's challenge record (_stafette-challenge.<domain> TXT) and remembers what
// DNS said, so render (pure) can be told which namespace proved which domain.
//
// A claim is verified while its record is in DNS: a new claim is looked up before the render
// that first sees it (so a restarted operator serves the same domains at once), then every
// recheck period. Only an answer counts: NXDOMAIN, no TXT or no matching text revokes; a
// timeout or server failure keeps the last answer, so a DNS outage never drops a domain.
import type { TxtResolver } from '../controllers/domain-reconciler.ts';
import { verifiedKey, type ChallengeRecord } from '../render/ownership.ts';

export interface Claim {
  namespace: string;
  domain: string;
}

export interface DomainVerifierOptions {
  resolver: TxtResolver;
  record: (namespace: string, domain: string) => Promise<ChallengeRecord>;
  now: () => number;
  /** How often a verified claim is looked at again. */
  recheckVerifiedMs?: number;
  /** How often a claim not verified yet is looked at again. */
  recheckUnverifiedMs?: number;
  /** Lookups at once. */
  concurrency?: number;
  /** Told each lookup's result, for the metric. */
  onLookup?: (result: 'found' | 'absent' | 'failed') => void;
  /** Told when a claim became verified or stopped being verified (render again). */
  onChange?: () => void;
  /**
   * How long checkNew waits for the lookups of new claims before render goes on without them
   * (they finish in the background and onChange says so): a tenant's many claims, or a DNS
   * server that never answers, cannot hold up everyone's render.
   */
  newClaimBudgetMs?: number;
}

/** How long a render waits for the lookups of claims it sees for the first time. */
export const defaultNewClaimBudgetMs = 5_000;

/** DNS error codes that are an answer: the name or its TXT records do not exist. */
const definite = new Set(['ENOTFOUND', 'ENODATA']);

export class DomainVerifier {
  private readonly results = new Map<string, { verified: boolean; checkedAt: number }>();
  private readonly inFlight = new Set<string>();
  private readonly options: Required<DomainVerifierOptions>;

  constructor(options: DomainVerifierOptions) {
    this.options = {
      ...options,
      recheckVerifiedMs: options.recheckVerifiedMs ?? 3_600_000,
      recheckUnverifiedMs: options.recheckUnverifiedMs ?? 30_000,
      concurrency: options.concurrency ?? 8,
      onLookup: options.onLookup ?? (() => {}),
      onChange: options.onChange ?? (() => {}),
      newClaimBudgetMs: options.newClaimBudgetMs ?? defaultNewClaimBudgetMs,
    };
  }

  /** The "namespace/domain" pairs whose record DNS showed at the last look. */
  verified(): Set<string> {
    return new Set([...this.results].filter(([, r]) => r.verified).map(([key]) => key));
  }

  /** Looks up the claims never looked up, waiting at most newClaimBudgetMs for them. */
  async checkNew(claims: readonly Claim[]): Promise<void> {
    const lookups = this.check(claims.filter((c) => !this.results.has(verifiedKey(c.namespace, c.domain))));
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.newClaimBudgetMs);
      timer.unref();
    });
    await Promise.race([lookups, budget]);
    clearTimeout(timer);
  }

  /** Looks up the claims whose recheck is due (new ones too); resolves whether any changed. Forgets claims no longer made. */
  async checkDue(claims: readonly Claim[]): Promise<boolean> {
    const current = new Set(claims.map((c) => verifiedKey(c.namespace, c.domain)));
    for (const key of this.results.keys()) if (!current.has(key)) this.results.delete(key);
    const now = this.options.now();
    const due = claims.filter((c) => {
      const r = this.results.get(verifiedKey(c.namespace, c.domain));
      return !r || now - r.checkedAt >= (r.verified ? this.options.recheckVerifiedMs : this.options.recheckUnverifiedMs);
    });
    return await this.check(due);
  }

  private async check(claims: readonly Claim[]): Promise<boolean> {
    let changed = false;
    // A claim whose lookup is still running (a slow server, a render that went on) is not asked again.
    const queue = claims.filter((c) => !this.inFlight.has(verifiedKey(c.namespace, c.domain)));
    for (const c of queue) this.inFlight.add(verifiedKey(c.namespace, c.domain));
    const worker = async () => {
      for (let claim = queue.shift(); claim; claim = queue.shift()) {
        const key = verifiedKey(claim.namespace, claim.domain);
        try {
          const before = this.results.get(key);
          const seen = await this.lookUp(claim);
          this.options.onLookup(seen === undefined ? 'failed' : seen ? 'found' : 'absent');
          const verified = seen ?? before?.verified ?? false;
          this.results.set(key, { verified, checkedAt: this.options.now() });
          if (verified !== (before?.verified ?? false)) {
            changed = true;
            this.options.onChange();
          }
        } finally {
          this.inFlight.delete(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, queue.length) }, worker));
    return changed;
  }

  /** True or false when DNS answered, undefined when it could not be asked. */
  private async lookUp(claim: Claim): Promise<boolean | undefined> {
    const record = await this.options.record(claim.namespace, claim.domain);
    try {
      const texts = await this.options.resolver.resolveTxt(record.name);
      return texts.some((chunks) => chunks.join('') === record.value);
    } catch (error) {
      return definite.has((error as { code?: string }).code ?? '') ? false : undefined;
    }
  }
}
