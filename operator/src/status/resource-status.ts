// The status of each resource, computed from what render() found and what the
// domain's children look like. Pure: the controllers only read and write.
import {
  conditionTypes,
  issueReasons,
  reasons,
  type Mailbox,
  type MailboxStatus,
  type Relay,
  type RelayStatus,
  type MailDomainStatus,
  type DkimKeyState,
} from '../../../crds/src/index.ts';
import { refOf } from '../render/context.ts';
import type { RenderFindings } from '../render/findings.ts';
import type { RenderIssue, ResourceRef } from '../render/issues.ts';
import type { DomainReport } from '../render/render.ts';
import { mergeConditions, sameStatus, type ConditionInput } from './conditions.ts';
import { healthConditions, type Blocker, type Progress } from './health.ts';

export interface ObjectRef {
  namespace: string;
  name: string;
  generation?: number;
  status?: { conditions?: MailboxStatus['conditions'] };
}

function issueSummary(issues: RenderIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}

/**
 * Mailbox and Relay: Ready unless render reported an error for it, and then Stalled: an
 * error is a reference or a claim only a change by someone can fix (the domain, the
 * Secret, the other claimant). Warnings stay in Ready's message.
 */
export function simpleStatus(object: ObjectRef, issues: RenderIssue[], now: Date): MailboxStatus & RelayStatus {
  const errors = issues.filter((i) => i.severity === 'Error');
  const warnings = issues.filter((i) => i.severity === 'Warning');
  const blockers: Blocker[] = errors.length > 0 ? [{ progress: 'stalled', reason: errors[0]?.reason ?? reasons.invalid, message: issueSummary(errors) }] : [];
  const conditions = healthConditions(blockers, {
    reason: reasons.configured,
    message: warnings.length > 0 ? `in the MTA configuration; ${issueSummary(warnings)}` : 'in the MTA configuration',
  });
  return { observedGeneration: object.generation, conditions: mergeConditions(object.status?.conditions, conditions, object.generation, now) };
}

/** A status to write: it says something its resource does not carry yet. */
export interface StatusChange extends ResourceRef {
  status: MailboxStatus | RelayStatus | MailDomainStatus;
}

/** A Mailbox's or Relay's status, from what render found about it, and whether it changed. */
export interface SimpleStatus extends StatusChange {
  uid?: string;
  changed: boolean;
}

/** The statuses of the Mailboxes or Relays, from what render found about each. */
export function simpleStatuses(kind: 'Mailbox' | 'Relay', objects: readonly (Mailbox | Relay)[], findings: RenderFindings, now: Date): SimpleStatus[] {
  return objects.map((object) => {
    const ref = refOf(kind, object.metadata);
    const status = simpleStatus({ ...ref, generation: object.metadata.generation, status: object.status }, findings.issuesOf(ref), now);
    return { ...ref, uid: object.metadata.uid, status, changed: !sameStatus(object.status, status) };
  });
}

/** A child's condition, and whether it holds the domain back (see health.ts). */
export interface ChildState {
  condition: ConditionInput;
  progress: Progress;
}

export interface DomainChildren {
  /** Selectors with a key Secret, with their state. */
  dkim: { name: string; algorithm: string; secretName: string; state: DkimKeyState; createdAt?: string }[];
  /** Selectors the spec needs that have no key yet. */
  missingSelectors: string[];
  certificate: ChildState;
  dns: ChildState;
}

/** The issues that keep a MailDomain out of the bundle (render/render-domains.ts acceptDomains). */
const leftOutBecause = new Set<string>([
  issueReasons.domainConflict,
  issueReasons.domainNotVerified,
  issueReasons.subdomainNotDelegated,
  issueReasons.hostnameOutsideDomain,
]);

export function domainStatus(
  object: ObjectRef,
  issues: RenderIssue[],
  report: DomainReport | undefined,
  children: DomainChildren,
  now: Date,
): MailDomainStatus {
  const errors = issues.filter((i) => i.severity === 'Error');
  // A selector can be pending twice over: the render saw no key, and the key it now has is not signing yet.
  const missing = [...new Set(children.missingSelectors)];
  const dkimReady: ConditionInput =
    missing.length > 0
      ? {
          type: conditionTypes.dkimKeyReady,
          status: 'False',
          reason: reasons.keyPending,
          message: `generating a key for selector ${missing.join(', ')}`,
        }
      : {
          type: conditionTypes.dkimKeyReady,
          status: 'True',
          reason: reasons.keyReady,
          message: `signing with ${children.dkim
            .filter((k) => k.state === 'Signing')
            .map((k) => k.name)
            .join(', ')}`,
        };
  const blockers: Blocker[] = [];
  if (!report) {
    const conflict = errors.find((i) => leftOutBecause.has(i.reason));
    // Not in the bundle: a claim refused (conflict, ownership), or a part the MTA would refuse (BundleCheckFailed).
    const cause = conflict ?? errors.find((i) => i.reason === issueReasons.bundleCheckFailed);
    const message = conflict ? conflict.message : cause ? `${cause.field}: ${cause.message}` : issueSummary(errors);
    blockers.push({ progress: 'stalled', reason: cause?.reason ?? reasons.invalid, message });
  } else if (errors.length > 0) {
    blockers.push({ progress: 'stalled', reason: errors[0]?.reason ?? reasons.invalid, message: `served, but: ${issueSummary(errors)}` });
  }
  if (dkimReady.status !== 'True') blockers.push({ progress: 'reconciling', reason: reasons.dkimKeyPending, message: dkimReady.message });
  for (const child of [children.certificate, children.dns]) {
    if (child.progress !== 'done') blockers.push({ progress: child.progress, reason: child.condition.reason, message: child.condition.message });
  }
  const health = healthConditions(blockers, { reason: reasons.serving, message: `mail for ${report?.domain ?? 'the domain'} is received and signed` });
  const conditions = mergeConditions(
    object.status?.conditions,
    [...health, dkimReady, children.certificate.condition, children.dns.condition],
    object.generation,
    now,
  );
  return {
    observedGeneration: object.generation,
    conditions,
    dkim: {
      signingSelectors: children.dkim
        .filter((k) => k.state === 'Signing')
        .map((k) => k.name)
        .join(','),
      selectors: children.dkim,
    },
    dnsRecords: report?.dnsRecords.map((r) => ({ name: r.name, type: r.type, value: r.value, purpose: r.purpose })) ?? [],
  };
}
