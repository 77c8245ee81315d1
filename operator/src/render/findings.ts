// What one render found, looked up by resource. The reconcilers ask per resource (the
// issues of a Mailbox, the DNS records of a MailDomain), so the result is indexed once
// per render rather than scanned once per question.
import type { RenderIssue, ResourceRef } from './issues.ts';
import type { DomainReport, RenderResult } from './render.ts';

export class RenderFindings {
  readonly result: RenderResult;
  private readonly issues = new Map<string, RenderIssue[]>();
  private readonly reports = new Map<string, DomainReport>();
  private readonly missing = new Map<string, string[]>();
  private readonly signing: ReadonlyMap<string, string[]>;

  /**
   * `signedBy`: for the findings of a bundle not written yet (the first pass of a render that
   * is still hashing passwords, passwords/bundle-passwords.ts), the findings of the bundle
   * the MTAs have: which selectors sign is what that one says, so no domain is called
   * signed by a key no MTA holds yet. Null: none written yet, nothing signs.
   */
  constructor(result: RenderResult, signedBy?: RenderFindings | null) {
    this.result = result;
    for (const i of result.issues) {
      const key = `${i.kind}/${i.namespace}/${i.name}`;
      this.issues.set(key, [...(this.issues.get(key) ?? []), i]);
    }
    for (const r of result.domains) this.reports.set(`${r.namespace}/${r.name}`, r);
    for (const m of result.missingDkimKeys) {
      const key = `${m.namespace}/${m.name}`;
      this.missing.set(key, [...(this.missing.get(key) ?? []), m.selector]);
    }
    this.signing =
      signedBy === undefined ? new Map(result.bundle.domains.map((d) => [d.domain, d.dkim.signing])) : (signedBy?.signing ?? new Map<string, string[]>());
  }

  issuesOf(ref: ResourceRef): RenderIssue[] {
    return this.issues.get(`${ref.kind}/${ref.namespace}/${ref.name}`) ?? [];
  }

  /** The MailDomain's report, or undefined when it is not in the bundle (a conflict, say). */
  reportOf(namespace: string, name: string): DomainReport | undefined {
    return this.reports.get(`${namespace}/${name}`);
  }

  /** Selectors the MailDomain's spec needs that have no key yet. */
  missingSelectorsOf(namespace: string, name: string): string[] {
    return this.missing.get(`${namespace}/${name}`) ?? [];
  }

  /** Selectors the bundle signs the domain's mail with. */
  signingSelectorsOf(domain: string): string[] {
    return this.signing.get(domain) ?? [];
  }

  /**
   * Per MailDomain ("namespace/name"), what this render says about it as text to compare:
   * its issues, its report and the selectors that sign for it (which a first pass takes from
   * the written bundle, `signedBy`). The domain reconciler needs to run again only when it changed.
   */
  domainFingerprints(domains: readonly ResourceRef[]): Map<string, string> {
    return new Map(
      domains.map((ref) => {
        const report = this.reportOf(ref.namespace, ref.name);
        return [`${ref.namespace}/${ref.name}`, JSON.stringify([this.issuesOf(ref), report ?? null, report ? this.signingSelectorsOf(report.domain) : []])];
      }),
    );
  }
}
