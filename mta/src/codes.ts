// Every SMTP reply code and enhanced status code Stafette sends, named, with the RFC that
// defines it (mox's smtp/codes.go idea): code elsewhere writes `C.C550MailboxUnavailable`,
// never a bare 550, so a grep finds every place a reply is chosen: at intake (SmtpError,
// errors.ts), in the queue's refusals and in every delivery outcome and DSN (reply.ts).
//
// Reply codes: RFC 5321 §4.2.2/§4.2.3 unless noted. Enhanced codes: RFC 3463 (class.subject.detail),
// registered at IANA "SMTP Enhanced Status Codes"; RFC 5248 added the registry.

/** Basic reply codes (RFC 5321 §4.2.3). */
export const C = {
  /** 221 Service closing transmission channel. */
  C221Closing: 221,
  /** 235 Authentication succeeded (RFC 4954 §6). */
  C235AuthOK: 235,
  /** 250 Requested mail action okay, completed. */
  C250OK: 250,
  /** 421 Service not available, closing transmission channel (RFC 5321 §3.8). */
  C421ServiceUnavailable: 421,
  /** 451 Requested action aborted: local error in processing. */
  C451LocalError: 451,
  /** 452 Insufficient system storage; also "too many recipients" (RFC 5321 §4.5.3.1.10). */
  C452StorageFull: 452,
  /** 454 Temporary authentication failure (RFC 4954 §6). */
  C454TempAuthFailure: 454,
  /** 500 Syntax error, command unrecognized (also "line too long", RFC 5321 §4.5.3.1). */
  C500SyntaxError: 500,
  /** 501 Syntax error in parameters or arguments. */
  C501BadParamSyntax: 501,
  /** 503 Bad sequence of commands. */
  C503BadSequence: 503,
  /** 530 Authentication required (RFC 4954 §6). */
  C530AuthRequired: 530,
  /** 535 Authentication credentials invalid (RFC 4954 §6). */
  C535AuthBadCreds: 535,
  /** 538 Encryption required for requested authentication mechanism (RFC 4954 §6). */
  C538EncryptionNeeded: 538,
  /** 550 Requested action not taken: mailbox unavailable / policy refusal. */
  C550MailboxUnavailable: 550,
  /** 552 Requested mail action aborted: exceeded storage allocation (message size, RFC 1870). */
  C552MailboxFull: 552,
  /** 553 Requested action not taken: mailbox name not allowed. */
  C553BadMailbox: 553,
  /** 554 Transaction failed. */
  C554TransactionFailed: 554,
  /** 555 MAIL FROM/RCPT TO parameters not recognized or not implemented (RFC 5321 §4.1.1.11). */
  C555UnrecognizedParams: 555,
  /** 556 Domain does not accept mail (RFC 7504 §3: a null MX, RFC 7505). */
  C556DomainNoMail: 556,
} as const;

export type ReplyCode = (typeof C)[keyof typeof C];

/** Enhanced status codes without their class digit (RFC 3463 §3): combine with 2/4/5. */
export const SE = {
  /** X.0.0 Other undefined status. */
  Other0: '0.0',
  /** X.1.1 Bad destination mailbox address: the recipient does not exist. */
  BadDestMailbox1: '1.1',
  /** X.1.2 Bad destination system address: the recipient's domain does not exist. */
  BadDestSystem2: '1.2',
  /** X.1.3 Bad destination mailbox address syntax. */
  BadDestSyntax3: '1.3',
  /** X.1.7 Bad sender's mailbox address syntax. */
  BadSenderSyntax7: '1.7',
  /** X.1.8 Bad sender's system address (sender domain not valid). */
  BadSenderSystem8: '1.8',
  /** X.1.10 Recipient address has null MX (RFC 7505 §4.2). */
  NullMx10: '1.10',
  /** X.2.2 Mailbox full. */
  MailboxFull2: '2.2',
  /** X.3.0 Other or undefined mail system status. */
  MailSystem0: '3.0',
  /** X.3.1 Mail system full. */
  MailSystemFull1: '3.1',
  /** X.3.2 System not accepting network messages (the memory budget is spent, smtp/memory-budget.ts). */
  NotAccepting2: '3.2',
  /** X.3.4 Message too big for system. */
  MsgTooBig4: '3.4',
  /** X.3.5 System incorrectly configured (a relay or webhook the bundle does not complete). */
  Misconfigured5: '3.5',
  /** X.4.0 Other or undefined network or routing status. */
  Network0: '4.0',
  /** X.4.1 No answer from host. */
  NoAnswer1: '4.1',
  /** X.4.2 Bad connection (lost, or no reply, in the middle of a transaction). */
  BadConnection2: '4.2',
  /** X.4.3 Directory server failure (DNS could not say where the mail goes). */
  DirectoryFailure3: '4.3',
  /** X.4.4 Unable to route. */
  UnableToRoute4: '4.4',
  /** X.4.6 Routing loop detected (too many Received headers, an alias or forward loop). */
  RoutingLoop6: '4.6',
  /** X.4.7 Delivery time expired. */
  DeliveryExpired7: '4.7',
  /** X.5.0 Other or undefined protocol status (a reply that is not SMTP). */
  Protocol0: '5.0',
  /** X.5.2 Syntax error (also a line over the length limit). */
  SyntaxError2: '5.2',
  /** X.5.4 Syntax error in command arguments / invalid parameters. */
  InvalidParams4: '5.4',
  /** X.5.3 Too many recipients. */
  TooManyRecipients3: '5.3',
  /** X.6.0 Other or undefined media error (malformed message content). */
  MediaError0: '6.0',
  /** X.6.3 Conversion required but not supported (8-bit content to a hop without 8BITMIME). */
  ConversionUnsupported3: '6.3',
  /** X.6.7 Non-ASCII addresses not permitted (SMTPUTF8 mail to a hop without it, RFC 6531 §3.2). */
  NonAsciiAddress7: '6.7',
  /** X.7.0 Other or undefined security status. */
  Security0: '7.0',
  /** X.7.1 Delivery not authorized, message refused (relay denied, sender not allowed). */
  NotAuthorized1: '7.1',
  /** X.7.8 Authentication credentials invalid (RFC 4954 §6). */
  BadCredentials8: '7.8',
  /** X.7.11 Encryption required for requested authentication mechanism (RFC 5248). */
  EncryptionNeeded11: '7.11',
  /** X.7.4 Security features not supported (no STARTTLS, an MX the MTA-STS policy does not list). */
  SecurityNotSupported4: '7.4',
  /** X.7.5 Cryptographic failure (a certificate that does not verify). */
  CryptographicFailure5: '7.5',
  /** X.7.30 REQUIRETLS support required (RFC 8689 §5.2). */
  RequireTlsNeeded30: '7.30',
} as const;

export type EnhancedSubject = (typeof SE)[keyof typeof SE];

/** The full enhanced code for a reply: the class digit follows the reply code (RFC 3463 §2). */
export function enhancedCode(code: ReplyCode, subject: EnhancedSubject): string {
  return enhancedStatus(Math.floor(code / 100), subject);
}

/** An enhanced code of a class (2 success, 4 persistent transient failure, 5 permanent failure). */
export function enhancedStatus(statusClass: number, subject: EnhancedSubject): string {
  return `${statusClass}.${subject}`;
}
