// The MTA's start-up failure (main.ts): a sentence for the log; the process exits 1.

/** A start-up failure with a sentence for the log; the process exits 1. */
export class MtaStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MtaStartError';
  }
}
