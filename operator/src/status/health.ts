// One rule ties Ready to the two conditions GitOps tools read. kstatus (sigs.k8s.io/cli-utils,
// which Flux and kpt decide a sync's health with) calls a resource InProgress while
// Reconciling=True, Failed while Stalled=True, and otherwise trusts Ready; the chart's Argo
// CD health script reads them the same way. So every resource says Ready=True only when
// nothing is left to do, and a Ready=False always comes with exactly one of:
//   Reconciling=True  the operator (or cert-manager, ExternalDNS) is still at work and will
//                     finish by itself: a DKIM key being generated, a certificate issued;
//   Stalled=True      it cannot finish without a change by someone: a Mailbox for a domain
//                     nobody serves, a missing Secret, a refused write, cert-manager missing.
// Stalled wins over Reconciling (waiting would not help), the first blocker of a kind gives
// the reason, and both conditions are left out when False (absent means normal to kstatus).
import { conditionTypes } from '../../../crds/src/index.ts';
import type { ConditionInput } from './conditions.ts';

export type Progress = 'done' | 'reconciling' | 'stalled';

/** Something between a resource and Ready, with the condition reason and message that say what. */
export interface Blocker {
  progress: Exclude<Progress, 'done'>;
  reason: string;
  message: string;
}

/** Ready (True with `done`'s reason and message when nothing blocks it), then Reconciling or Stalled. */
export function healthConditions(blockers: readonly Blocker[], done: { reason: string; message: string }): ConditionInput[] {
  const blocker = blockers.find((b) => b.progress === 'stalled') ?? blockers.find((b) => b.progress === 'reconciling');
  if (!blocker) return [{ type: conditionTypes.ready, status: 'True', ...done }];
  const { reason, message } = blocker;
  return [
    { type: conditionTypes.ready, status: 'False', reason, message },
    { type: blocker.progress === 'stalled' ? conditionTypes.stalled : conditionTypes.reconciling, status: 'True', reason, message },
  ];
}

/** The Stalled condition among `conditions`, when it is True. */
export function stalledOf<C extends { type: string; status: string }>(conditions: readonly C[] | undefined): C | undefined {
  return conditions?.find((c) => c.type === conditionTypes.stalled && c.status === 'True');
}
