// Shared state of one render(): the issues found so far and lookups by reference.
import { issueReasons, type IssueReason, type ObjectMeta, type SecretUse } from '../../../crds/src/index.ts';
import { secretUseRefusal } from './secret-use.ts';
import type { RenderIssue, ResourceRef } from './issues.ts';
import type { SecretObject } from './input.ts';

export class RenderContext {
  readonly issues: RenderIssue[] = [];
  private readonly secrets = new Map<string, SecretObject>();
  /** Domain → "namespace/name" of its MailDomain, for those left out because the bundle check refused them (render.ts). */
  readonly heldOutDomains: ReadonlyMap<string, string>;

  constructor(secrets: SecretObject[], heldOutDomains: ReadonlyMap<string, string> = new Map()) {
    for (const s of secrets) this.secrets.set(`${namespaceOf(s.metadata)}/${s.metadata.name}`, s);
    this.heldOutDomains = heldOutDomains;
  }

  secret(namespace: string, name: string): SecretObject | undefined {
    return this.secrets.get(`${namespace}/${name}`);
  }

  /**
   * The Secret `ref` names in `field`, if it is marked for `use` (render/secret-use.ts):
   * undefined when there is none (the caller reports that), null when it is refused, which is
   * reported here as SecretNotMarked and nothing of it is read.
   */
  usableSecret(ref: ResourceRef, field: string, name: string, use: SecretUse): SecretObject | undefined | null {
    const secret = this.secret(ref.namespace, name);
    if (!secret) return undefined;
    const refusal = secretUseRefusal(secret, use);
    if (refusal === null) return secret;
    this.error(ref, field, issueReasons.secretNotMarked, refusal);
    return null;
  }

  error(ref: ResourceRef, field: string, reason: IssueReason, message: string): void {
    this.issues.push({ ...ref, field, reason, message, severity: 'Error' });
  }

  warning(ref: ResourceRef, field: string, reason: IssueReason, message: string): void {
    this.issues.push({ ...ref, field, reason, message, severity: 'Warning' });
  }
}

/** Objects without a namespace (offline manifests) belong to "default", as kubectl would put them. */
export function namespaceOf(meta: Pick<ObjectMeta, 'namespace'>): string {
  return meta.namespace ?? 'default';
}

export function refOf(kind: ResourceRef['kind'], meta: ObjectMeta): ResourceRef {
  return { kind, namespace: namespaceOf(meta), name: meta.name };
}

/**
 * The order in which resources claim names: oldest first, then by namespace and name.
 * The first claim wins a conflict, so creating a second Mailbox for an address that is
 * in use never takes it away from the first.
 */
export function byAge<T extends { metadata: ObjectMeta }>(a: T, b: T): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${namespaceOf(a.metadata)}/${a.metadata.name}`;
  const kb = `${namespaceOf(b.metadata)}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
