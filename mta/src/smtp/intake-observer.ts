// What the SMTP intake reports as it works, for metrics. The intake calls these; the
// metrics module (mta/src/ops/) implements them with prom-client. Keeping the seam here
// lets intake tests count events without a metrics registry.

/** A named rejection reason, one label value per policy rule or limit (low cardinality). */
export type RejectReason = string;

export interface IntakeObserver {
  sessionOpened(listener: string): void;
  sessionClosed(listener: string): void;
  /** Every SMTP command, by verb (EHLO, MAIL, RCPT, DATA, AUTH, STARTTLS, ...). */
  command(listener: string, verb: string): void;
  /** A message answered with 250 after the queue acknowledged it. */
  messageAccepted(listener: string, bytes: number, publishSeconds: number): void;
  /** A refused command or message, by reason (unknown_recipient, relay_denied, message_too_big, queue_unavailable, ...). */
  rejected(listener: string, reason: RejectReason): void;
  authAttempt(listener: string, outcome: 'success' | 'failure'): void;
  /**
   * One scrypt verification during AUTH: against the login's stored hash, or against the
   * decoy for a login that does not exist or may not log in (equal work, docs/trust-model.md).
   */
  passwordChecked(listener: string, against: 'stored' | 'decoy'): void;
}

export const ignoreIntakeEvents: IntakeObserver = {
  sessionOpened() {},
  sessionClosed() {},
  command() {},
  messageAccepted() {},
  rejected() {},
  authAttempt() {},
  passwordChecked() {},
};
