// Names of the retry stream that delivery adds beside the job stream (mta/src/delivery/
// delivery-streams.ts explains it). They live in the queue module because queue code must
// know them too: a body in the Object Store is still in use while its message waits for a
// retry there (orphan-bodies.ts), not only while its job is in MAILQ.
import type { QueueSettings } from './settings.ts';

/** The stream holding scheduled retries (`<stream>_DEFER`). */
export function deferStreamName(settings: QueueSettings): string {
  return `${settings.streamName}_DEFER`;
}

/** Subject prefix of that stream. */
export const deferSubjectPrefix = 'mail.defer';

/** Subjects under which a message waiting for, or due for, a retry is stored. */
export function deferredJobSubjects(queueId: string): { wait: string; due: string } {
  return { wait: `${deferSubjectPrefix}.wait.${queueId}`, due: `${deferSubjectPrefix}.due.${queueId}` };
}

/** Where quarantined jobs wait for a human (delivery/quarantine.ts); their bodies are kept. */
export const quarantineSubjects = `${deferSubjectPrefix}.quarantine.>`;

/** Headers a quarantined copy carries (written by delivery, read by the orphan search too). */
export const quarantineHeaders = {
  reason: 'Stafette-Quarantine-Reason',
  subject: 'Stafette-Quarantine-Subject',
  deliveries: 'Stafette-Quarantine-Deliveries',
} as const;
