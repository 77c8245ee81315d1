// DKIM key rotation, as a pure plan over a domain's keys.
//
// Each algorithm the spec asks for has at most one Signing key. A new key (on rotation,
// or when the spec's selector changes) starts as Published: its DNS record is listed
// first, and it signs only once that record is visible in DNS, or after a fixed delay
// when DNS cannot be checked, because mail signed before receivers can fetch the key
// fails DKIM. The key it replaces becomes Retiring: it stays in DNS for an overlap
// period, so mail signed with it and still in flight verifies, then it is deleted.
// The very first key of a domain signs at once: there is nothing better to sign with.
import type { DkimKeyState, MailDomainSpecResolved } from '../../../crds/src/index.ts';
import type { DkimAlgorithm } from '../../../bundle/schema.ts';
import { requiredSelectors } from '../render/render-domains.ts';

export interface KeyView {
  selector: string;
  algorithm: DkimAlgorithm;
  state: DkimKeyState;
  secretName: string;
  createdAt?: string;
  /** When the key started Retiring. */
  retiringSince?: string;
}

export interface RotationOptions {
  now: Date;
  /** Selectors whose record is visible in DNS (checked by the caller). */
  visible: ReadonlySet<string>;
  /** How long to wait for a Published key when DNS shows nothing. */
  propagationDelayMs: number;
  /** How long a Retiring key stays published. */
  retireAfterMs: number;
}

export interface RotationPlan {
  create: { selector: string; algorithm: DkimAlgorithm; state: Exclude<DkimKeyState, 'Retiring'> }[];
  promote: string[];
  retire: string[];
  delete: string[];
  /** When to look again (a pending promotion, a rotation or a deletion coming due), or null. */
  recheckInMs: number | null;
}

const units: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

export function parseRotationPeriod(value: string | undefined): number | null {
  const match = value ? /^([1-9][0-9]*)(d|h|m)$/.exec(value) : null;
  return match ? Number(match[1]) * (units[match[2] as string] ?? 0) : null;
}

/** The first free selector of the family of `base`: base, then base-r2, base-r3, ... */
export function nextSelector(base: string, taken: readonly string[]): string {
  if (!taken.includes(base)) return base;
  let highest = 1;
  for (const s of taken) {
    const m = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-r(\\d+)$`).exec(s);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return `${base}-r${highest + 1}`;
}

function inFamily(selector: string, base: string): boolean {
  return selector === base || new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-r\\d+$`).test(selector);
}

export function planRotation(spec: MailDomainSpecResolved, keys: readonly KeyView[], options: RotationOptions): RotationPlan {
  const plan: RotationPlan = { create: [], promote: [], retire: [], delete: [], recheckInMs: null };
  const now = options.now.getTime();
  const due = (at: number) => {
    const wait = Math.max(0, at - now);
    plan.recheckInMs = plan.recheckInMs === null ? wait : Math.min(plan.recheckInMs, wait);
  };
  const taken = keys.map((k) => k.selector);
  const rotateAfter = parseRotationPeriod(spec.dkim.rotateAfter);
  const required = requiredSelectors(spec);

  for (const wanted of required) {
    const own = keys.filter((k) => k.algorithm === wanted.algorithm);
    const signing = own.find((k) => k.state === 'Signing');
    const pending = own.find((k) => k.state === 'Published');
    if (!signing && !pending) {
      const selector = nextSelector(wanted.selector, taken);
      taken.push(selector);
      plan.create.push({ selector, algorithm: wanted.algorithm, state: own.length === 0 ? 'Signing' : 'Published' });
      continue;
    }
    if (pending) {
      const created = pending.createdAt ? Date.parse(pending.createdAt) : now;
      if (options.visible.has(pending.selector) || created + options.propagationDelayMs <= now) {
        plan.promote.push(pending.selector);
        if (signing) plan.retire.push(signing.selector);
      } else due(created + options.propagationDelayMs);
      continue;
    }
    if (!signing) continue;
    const stale = !inFamily(signing.selector, wanted.selector);
    const created = signing.createdAt ? Date.parse(signing.createdAt) : now;
    const rotationDue = rotateAfter !== null && created + rotateAfter <= now;
    if (stale || rotationDue) {
      const selector = nextSelector(wanted.selector, taken);
      taken.push(selector);
      plan.create.push({ selector, algorithm: wanted.algorithm, state: 'Published' });
      due(now + options.propagationDelayMs);
    } else if (rotateAfter !== null) due(created + rotateAfter);
  }

  // Keys of an algorithm the spec no longer asks for stop signing.
  for (const k of keys) {
    if (k.state === 'Signing' && !required.some((r) => r.algorithm === k.algorithm)) plan.retire.push(k.selector);
  }
  for (const k of keys) {
    if (k.state !== 'Retiring') continue;
    const since = k.retiringSince ? Date.parse(k.retiringSince) : now;
    if (since + options.retireAfterMs <= now) plan.delete.push(k.secretName);
    else due(since + options.retireAfterMs);
  }
  return plan;
}
