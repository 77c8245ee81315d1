// The public surface of the Stafette API types.
export * from './names.ts';
export type { MailDomain, MailDomainSpec, MailDomainSpecResolved, MailDomainStatus } from './generated/maildomain.ts';
export type { Mailbox, MailboxSpec, MailboxSpecResolved, MailboxStatus } from './generated/mailbox.ts';
export type { Relay, RelaySpec, RelaySpecResolved, RelayStatus } from './generated/relay.ts';
