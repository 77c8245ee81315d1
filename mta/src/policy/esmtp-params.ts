// Which ESMTP parameters MAIL and RCPT may carry: only those of extensions we announce.
// smtp-server accepts any `NAME=value` it does not know and hands it on; the queue record
// would keep it and delivery might pass it to the next hop. Refusing unknown parameters with
// 555 (RFC 5321 §4.1.1.11) keeps what we store to what we understand.
//
//   MAIL: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), AUTH (RFC 4954 §5; accepted
//         and kept as received, never trusted), RET and ENVID (DSN, RFC 3461), REQUIRETLS
//         (RFC 8689, announced over TLS only)
//   RCPT: NOTIFY and ORCPT (DSN, RFC 3461)
// Their values are checked by mta/src/dsn/params.ts.
import type { SmtpError } from '../errors.ts';
import { unknownParameter } from './rejections.ts';

const allowed = {
  MAIL: new Set(['SIZE', 'BODY', 'SMTPUTF8', 'AUTH', 'RET', 'ENVID', 'REQUIRETLS']),
  RCPT: new Set<string>(['NOTIFY', 'ORCPT']),
} as const;

/** The first parameter of `args` (keys as smtp-server gives them, upper case) that is not allowed, as a refusal. */
export function checkEsmtpParams(command: 'MAIL' | 'RCPT', args: Record<string, unknown> | false): SmtpError | null {
  for (const name of Object.keys(args || {})) {
    if (!allowed[command].has(name.toUpperCase())) return unknownParameter(command, name);
  }
  return null;
}
