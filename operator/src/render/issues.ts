// What render() reports about resources it cannot use as written. Every issue names
// the resource (kind, namespace, name) and the field, so the operator can turn it
// into a condition on that resource and the CLI can print it for a person to fix.
// The reasons are the API's own, declared in crds/src/names.ts.
import type { IssueReason, Kind } from '../../../crds/src/index.ts';

export interface ResourceRef {
  kind: Kind;
  namespace: string;
  name: string;
}

export interface RenderIssue extends ResourceRef {
  /** The field at fault, as a path from the object root (spec.aliases[1]). */
  field: string;
  reason: IssueReason;
  message: string;
  /** An Error keeps the resource (or the part at fault) out of the bundle; a Warning does not. */
  severity: 'Error' | 'Warning';
}

export function describeIssue(issue: RenderIssue): string {
  return `${issue.severity}: ${issue.kind} ${issue.namespace}/${issue.name} ${issue.field}: ${issue.message} (${issue.reason})`;
}
