// The spam filter of the MX DATA path (docs/spam-checks.md §2): rspamd asked over its HTTP
// protocol (POST /checkv2 on the normal worker, the message as the body, the envelope in
// request headers: IP, Helo, Hostname, From, Rcpt (one per recipient), Queue-Id, User, MTA-Name)
// after the whole message arrived and before the final reply. Its JSON answer gives a score and
// symbols; our thresholds (not rspamd's actions) decide:
//   score >= rejectScore   550 5.7.1, nothing stored;
//   otherwise              accepted with X-Spam-Status (Yes at or over markScore) and
//                          X-Spamd-Result (the score and up to maxSymbols symbols) added;
//   no usable answer       (refused connection, HTTP error, bad JSON, past timeoutMs)
//                          451 4.7.1 when onError is "defer", else accepted unmarked.
// The answer is bounded (maxAnswerBytes) and every value we copy into a header is checked.
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { spamCheckUnavailable, spamRejected } from '../policy/rejections.ts';

export interface SpamFilterOptions {
  /** The normal worker, e.g. "http://rspamd:11333". */
  readonly url: string;
  /** At or over this score the message is refused; null: never (only marked). Default 15. */
  readonly rejectScore?: number | null;
  /** At or over this score X-Spam-Status says Yes. Default 6. */
  readonly markScore?: number;
  /** What an unanswered check does: defer (451 4.7.1, the default) or accept. */
  readonly onError?: 'defer' | 'accept';
  /** The most one check may take. Default defaultSpamTimeoutMs. */
  readonly timeoutMs?: number;
  readonly observer?: SpamFilterObserver;
}

export interface SpamFilterObserver {
  spamVerdict(action: 'accept' | 'mark' | 'reject' | 'error_accept' | 'error_defer'): void;
}

export interface SpamCheckInput {
  readonly message: readonly Buffer[];
  readonly ip: string;
  readonly helo: string;
  readonly clientHostname: string | null;
  readonly mailFrom: string;
  readonly recipients: readonly string[];
  readonly authUser: string | null;
  /** Our own name. */
  readonly hostname: string;
}

export interface SpamCheckResult {
  /** Header fields to add (CRLF-terminated); '' when the filter did not answer and onError is accept. */
  readonly headerFields: string;
  /** For the log. */
  readonly score: number | null;
  readonly error?: string;
}

export interface SpamFilter {
  /** The verdict for one message; a refusal (550 / 451) is thrown as an SmtpError. */
  check(input: SpamCheckInput): Promise<SpamCheckResult>;
}

export const defaultSpamTimeoutMs = 10_000;
export const defaultRejectScore = 15;
export const defaultMarkScore = 6;
export const maxAnswerBytes = 1 << 20;
/** The most rspamd symbols one X-Spamd-Result lists (the score always). */
export const maxSymbols = 30;

interface RspamdAnswer {
  readonly score: number;
  readonly required: number | null;
  readonly action: string;
  readonly symbols: readonly { readonly name: string; readonly score: number }[];
}

export function createSpamFilter(options: SpamFilterOptions): SpamFilter {
  const rejectScore = options.rejectScore === undefined ? defaultRejectScore : options.rejectScore;
  const markScore = options.markScore ?? defaultMarkScore;
  const onError = options.onError ?? 'defer';
  const timeoutMs = options.timeoutMs ?? defaultSpamTimeoutMs;
  const endpoint = new URL('checkv2', options.url.endsWith('/') ? options.url : `${options.url}/`);

  return {
    async check(input) {
      let answer: RspamdAnswer;
      try {
        answer = parseAnswer(await post(endpoint, requestHeaders(input), input.message, timeoutMs));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        if (onError === 'defer') {
          options.observer?.spamVerdict('error_defer');
          throw spamCheckUnavailable(err);
        }
        options.observer?.spamVerdict('error_accept');
        return { headerFields: '', score: null, error };
      }
      if (rejectScore !== null && answer.score >= rejectScore) {
        options.observer?.spamVerdict('reject');
        throw spamRejected(answer.score, rejectScore);
      }
      const spam = answer.score >= markScore;
      options.observer?.spamVerdict(spam ? 'mark' : 'accept');
      return { headerFields: renderSpamFields(answer, spam, markScore), score: answer.score };
    },
  };
}

/** X-Spam-Status and X-Spamd-Result for an answer (rspamd's and SpamAssassin's styles). */
export function renderSpamFields(answer: RspamdAnswer, spam: boolean, markScore: number): string {
  const symbols = [...answer.symbols].sort((a, b) => b.score - a.score || a.name.localeCompare(b.name)).slice(0, maxSymbols);
  const listed = symbols.map((s) => `${s.name}(${s.score.toFixed(2)})`);
  const more = answer.symbols.length > symbols.length ? [`(${answer.symbols.length - symbols.length} more)`] : [];
  const result = [`default: ${spam ? 'True' : 'False'} [${answer.score.toFixed(2)} / ${markScore.toFixed(2)}]`, ...listed, ...more].join(';\r\n\t');
  return `X-Spam-Status: ${spam ? 'Yes' : 'No'}, score=${answer.score.toFixed(2)} required=${markScore.toFixed(2)}\r\nX-Spamd-Result: ${result}\r\n`;
}

/** rspamd's /checkv2 JSON, checked; anything unexpected is an error (the filter did not answer). */
export function parseAnswer(text: string): RspamdAnswer {
  const json = JSON.parse(text) as unknown;
  if (typeof json !== 'object' || json === null) throw new Error('rspamd answer is not a JSON object');
  const o = json as Record<string, unknown>;
  if (typeof o.score !== 'number' || !Number.isFinite(o.score)) throw new Error('rspamd answer has no score');
  const symbols: { name: string; score: number }[] = [];
  if (typeof o.symbols === 'object' && o.symbols !== null) {
    for (const [name, value] of Object.entries(o.symbols as Record<string, unknown>)) {
      const score = (value as { score?: unknown } | null)?.score;
      if (/^[A-Za-z0-9_]{1,64}$/.test(name)) symbols.push({ name, score: typeof score === 'number' && Number.isFinite(score) ? score : 0 });
    }
  }
  return {
    score: o.score,
    required: typeof o.required_score === 'number' ? o.required_score : null,
    action: typeof o.action === 'string' ? o.action : '',
    symbols,
  };
}

function requestHeaders(input: SpamCheckInput): Record<string, string | string[]> {
  // Header values must be one line of visible text; an envelope address may carry UTF-8.
  const clean = (v: string) => v.replace(/[^\x21-\x7e]/g, '');
  const h: Record<string, string | string[]> = {
    IP: clean(input.ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')),
    'MTA-Name': clean(input.hostname),
  };
  if (input.helo) h.Helo = clean(input.helo);
  if (input.clientHostname) h.Hostname = clean(input.clientHostname);
  if (input.mailFrom) h.From = clean(input.mailFrom);
  const rcpts = input.recipients.map(clean).filter((r) => r !== '');
  if (rcpts.length > 0) h.Rcpt = rcpts;
  if (input.authUser) h.User = clean(input.authUser);
  return h;
}

function post(url: URL, headers: Record<string, string | string[]>, body: readonly Buffer[], timeoutMs: number): Promise<string> {
  const length = body.reduce((n, b) => n + b.length, 0);
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : request;
    const req = send(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(length) }, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxAnswerBytes) {
          req.destroy(new Error(`rspamd answer over ${maxAnswerBytes} bytes`));
          return;
        }
        parts.push(chunk);
      });
      res.once('error', reject);
      res.once('end', () => {
        if (res.statusCode !== 200) reject(new Error(`rspamd answered HTTP ${res.statusCode}`));
        else resolve(Buffer.concat(parts).toString('utf8'));
      });
    });
    req.once('error', reject);
    for (const b of body) req.write(b);
    req.end();
  });
}
