// The status of each resource, computed from what render() found and what the
// domain's children look like. Pure: the controllers only read and write.
import { conditionTypes, issueReasons, reasons, type Mailbox, type MailboxStatus, type Relay, type RelayStatus, type MailDomainStatus, type DkimKeyState } from '../../../crds/src/index.ts';
import { refOf } from '../render/context.ts';
import type { RenderFindings } from '../render/findings.ts';
import type { RenderIssue, ResourceRef } from '../render/issues.ts';
import type { DomainReport } from '../render/render.ts';
import { mergeConditions, ready, sameStatus, type ConditionInput } from './conditions.ts';

export interface ObjectRef {
  namespace: string;
  name: string;
  generation?: number;
  status?: { conditions?: MailboxStatus['conditions'] };
}

function issueSummary(issues: RenderIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}

/** Mailbox and Relay: Ready unless render reported an error for it; warnings stay in the message. */
export function simpleStatus(object: ObjectRef, issues: RenderIssue[], now: Date): MailboxStatus & RelayStatus {
  const errors = issues.filter((i) => i.severity === 'Error');
  const warnings = issues.filter((i) => i.severity === 'Warning');
  const condition = errors.length > 0
    ? ready(false, errors[0]?.reason ?? reasons.invalid, issueSummary(errors))
    : ready(true, reasons.configured, warnings.length > 0 ? `in the MTA configuration; ${issueSummary(warnings)}` : 'in the MTA configuration');
  return { observedGeneration: object.generation, conditions: mergeConditions(object.status?.conditions, [condition], object.generation, now) };
}

/** A status to write: it says something its resource does not carry yet. */
export interface StatusChange extends ResourceRef {
  status: MailboxStatus | RelayStatus | MailDomainStatus;
}

/** The Mailboxes' or Relays' statuses, from what render found about each, where they changed. */
export function simpleStatusChanges(kind: 'Mailbox' | 'Relay', objects: readonly (Mailbox | Relay)[], findings: RenderFindings, now: Date): StatusChange[] {
  return objects.flatMap((object) => {
    const ref = refOf(kind, object.metadata);
    const status = simpleStatus({ ...ref, generation: object.metadata.generation, status: object.status }, findings.issuesOf(ref), now);
    return sameStatus(object.status, status) ? [] : [{ ...ref, status }];
  });
}

export interface DomainChildren {
  /** Selectors with a key Secret, with their state. */
  dkim: { name: string; algorithm: string; secretName: string; state: DkimKeyState; createdAt?: string }[];
  /** Selectors the spec needs that have no key yet. */
  missingSelectors: string[];
  certificate: ConditionInput;
  dns: ConditionInput;
}

export function domainStatus(object: ObjectRef, issues: RenderIssue[], report: DomainReport | undefined, children: DomainChildren, now: Date): MailDomainStatus {
  const errors = issues.filter((i) => i.severity === 'Error');
  const dkimReady: ConditionInput = children.missingSelectors.length > 0
    ? { type: conditionTypes.dkimKeyReady, status: 'False', reason: reasons.keyPending, message: `generating a key for selector ${children.missingSelectors.join(', ')}` }
    : { type: conditionTypes.dkimKeyReady, status: 'True', reason: reasons.keyReady, message: `signing with ${children.dkim.filter((k) => k.state === 'Signing').map((k) => k.name).join(', ')}` };
  let readyCondition: ConditionInput;
  if (!report) {
    const conflict = errors.find((i) => i.reason === issueReasons.domainConflict);
    readyCondition = ready(false, conflict?.reason ?? reasons.invalid, conflict?.message ?? issueSummary(errors));
  } else if (errors.length > 0) {
    readyCondition = ready(false, errors[0]?.reason ?? reasons.invalid, `served, but: ${issueSummary(errors)}`);
  } else if (dkimReady.status !== 'True') {
    readyCondition = ready(false, reasons.dkimKeyPending, dkimReady.message);
  } else if (children.certificate.status === 'False') {
    readyCondition = ready(false, children.certificate.reason, children.certificate.message);
  } else {
    readyCondition = ready(true, reasons.serving, `mail for ${report.domain} is received and signed`);
  }
  const conditions = mergeConditions(object.status?.conditions, [readyCondition, dkimReady, children.certificate, children.dns], object.generation, now);
  return {
    observedGeneration: object.generation,
    conditions,
    dkim: {
      signingSelectors: children.dkim.filter((k) => k.state === 'Signing').map((k) => k.name).join(','),
      selectors: children.dkim,
    },
    dnsRecords: report?.dnsRecords.map((r) => ({ name: r.name, type: r.type, value: r.value, purpose: r.purpose })) ?? [],
  };
}
