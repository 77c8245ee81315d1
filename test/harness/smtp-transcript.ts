// SMTP dialogs as transcripts (chasquid's .cmy files, maddy's ExpectPattern), played over a
// raw socket so every byte the client sends is exactly what the transcript says.
//
//   c: MAIL FROM:<x@example.org>     send the line (UTF-8) + CRLF
//   c! a\r.\rb\r\n                   send raw bytes (one per character, latin1); \r \n \t \0 \\ escapes, nothing appended
//   s: 250 2.1.0 *                   read one whole reply; its LAST line must match the pattern
//   s- 250-STARTTLS                  (before an s:) some line of that same reply must match
//   s! 250-AUTH*                     (before an s:) no line of that same reply may match
//   tls                              start TLS on the socket (after "220 ... ready" for STARTTLS)
//   closed                           the server closes the connection (after draining replies)
//   # comment / blank lines          ignored
// Patterns: `*` matches any run of characters, everything else literally; the whole line must match.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';

export interface TranscriptTarget {
  readonly host: string;
  readonly port: number;
  /** Start with TLS (implicit TLS listener). */
  readonly implicitTls?: boolean;
  /** SNI name for TLS. */
  readonly servername?: string;
  /** Source address of the connection (a 127.0.0.x the test's SPF records name). */
  readonly localAddress?: string;
  /** Per reply, and for connect/handshake/close. */
  readonly timeoutMs?: number;
}

export interface TranscriptResult {
  /** The conversation as it happened: "C: ..." and "S: ..." lines. */
  readonly log: string[];
  readonly tls: TLSSocket | null;
  /** The server's certificate, when TLS was used. */
  readonly peerCertificate: PeerCertificate | null;
}

export class TranscriptError extends Error {
  constructor(message: string, log: readonly string[]) {
    super(`${message}\n--- conversation ---\n${log.join('\n')}`);
    this.name = 'TranscriptError';
  }
}

/** Plays a transcript; throws a TranscriptError with the conversation so far on the first mismatch. */
export async function playTranscript(target: TranscriptTarget, transcript: string): Promise<TranscriptResult> {
  const timeoutMs = target.timeoutMs ?? 15_000;
  const conn = await SmtpWire.open(target, timeoutMs);
  const log = conn.log;
  let mustMatch: string[] = [];
  let mustNotMatch: string[] = [];
  try {
    for (const raw of transcript.split('\n')) {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      const op = line.slice(0, 2);
      const arg = line.slice(3);
      if (op === 'c:') conn.send(`${arg}\r\n`, 'utf8');
      else if (op === 'c!') conn.send(unescape(arg), 'latin1');
      else if (op === 's-') mustMatch.push(arg);
      else if (op === 's!') mustNotMatch.push(arg);
      else if (op === 's:') {
        const reply = await conn.readReply();
        const last = reply[reply.length - 1] ?? '';
        if (!globMatch(arg, last)) throw new TranscriptError(`expected reply ${JSON.stringify(arg)}, got ${JSON.stringify(last)}`, log);
        for (const p of mustMatch) {
          if (!reply.some((l) => globMatch(p, l))) throw new TranscriptError(`expected a reply line ${JSON.stringify(p)}`, log);
        }
        for (const p of mustNotMatch) {
          if (reply.some((l) => globMatch(p, l))) throw new TranscriptError(`unexpected reply line ${JSON.stringify(p)}`, log);
        }
        mustMatch = [];
        mustNotMatch = [];
      } else if (line.trim() === 'tls') await conn.startTls(target.servername);
      else if (line.trim() === 'closed') await conn.waitClosed();
      else throw new TranscriptError(`bad transcript line ${JSON.stringify(line)}`, log);
    }
    return { log, tls: conn.tls, peerCertificate: conn.tls?.getPeerCertificate() ?? null };
  } finally {
    conn.destroy();
  }
}

export function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
  return re.test(text);
}

function unescape(s: string): string {
  return s.replace(/\\([rnt0\\])/g, (_, c: string) => ({ r: '\r', n: '\n', t: '\t', '0': '\0', '\\': '\\' })[c]!);
}

/** A line-oriented SMTP client socket: reads whole replies, writes raw bytes. */
export class SmtpWire {
  readonly log: string[] = [];
  tls: TLSSocket | null = null;
  #socket: Socket;
  #buffer = '';
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly #timeoutMs: number;

  private constructor(socket: Socket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#attach(socket);
  }

  static async open(target: TranscriptTarget, timeoutMs: number): Promise<SmtpWire> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s: Socket = target.implicitTls
        ? tlsConnect({ host: target.host, port: target.port, servername: target.servername, rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host: target.host, port: target.port, localAddress: target.localAddress }, () => resolve(s));
      s.once('error', reject);
      s.setTimeout(timeoutMs, () => s.destroy(new Error('connect timed out')));
    });
    socket.setTimeout(0);
    const wire = new SmtpWire(socket, timeoutMs);
    if (target.implicitTls) wire.tls = socket as TLSSocket;
    return wire;
  }

  #attach(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#wake();
    });
    socket.on('error', () => {
      /* seen as a close */
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  async #waitForData(what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      this.#waiters.push(resolve);
      timer = setTimeout(() => reject(new TranscriptError(`timed out after ${this.#timeoutMs} ms waiting for ${what}`, this.log)), this.#timeoutMs);
    }).finally(() => clearTimeout(timer));
  }

  send(data: string, encoding: 'utf8' | 'latin1' = 'utf8'): void {
    this.log.push(
      ...data
        .replace(/\r\n$/, '')
        .split('\r\n')
        .map((l) => `C: ${JSON.stringify(l).slice(1, -1)}`),
    );
    this.#socket.write(Buffer.from(data, encoding));
  }

  /** One reply: every line up to the one with a space after the code. */
  async readReply(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        this.log.push(`S: ${line}`);
        lines.push(line);
        if (!/^\d{3}-/.test(line)) return lines;
        continue;
      }
      if (this.#closed) throw new TranscriptError('connection closed while waiting for a reply', this.log);
      await this.#waitForData('a reply');
    }
  }

  async startTls(servername?: string): Promise<void> {
    const plain = this.#socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.#buffer = '';
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, servername, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.log.push(`-- TLS ${secure.getProtocol()} ${secure.getCipher().name}`);
    this.#socket = secure;
    this.tls = secure;
    this.#attach(secure);
  }

  /** Waits until the server closes the connection, reading whatever replies still arrive. */
  async waitClosed(): Promise<void> {
    while (!this.#closed) await this.#waitForData('the server to close the connection');
    for (const l of this.#buffer.split('\r\n').filter(Boolean)) this.log.push(`S: ${l}`);
    this.#buffer = '';
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Closes with a TCP RST instead of a FIN, as a crashed or impatient client does. */
  reset(): void {
    this.#socket.resetAndDestroy();
  }
}
