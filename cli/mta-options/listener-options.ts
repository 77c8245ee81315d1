// `stafette mta` flags of the SMTP listeners and the limits of one session: ports, greeting
// delay, per-client connections, deadlines, PROXY ranges, the intake memory budget and the size
// past which a message streams to the Object Store. Every default is the library's
// (mta/src/smtp/listener-config.ts, memory-budget.ts, body-streaming.ts), read here only.
import { Option, type Command } from 'commander';
import { defaultMemoryBudgetBytes } from '../../mta/src/smtp/memory-budget.ts';
import { defaultStreamThresholdBytes } from '../../mta/src/smtp/body-streaming.ts';
import { defaultListenerConfigs, listenerConfig, type ListenerConfig } from '../../mta/src/smtp/index.ts';
import { integer } from './flag-parsers.ts';

export interface ListenerFlags {
  listeners: string;
  smtpHost: string;
  mxPort: number;
  submissionPort: number;
  submissionsPort: number;
  mxGreetingDelay: number;
  mxReverseDns: boolean;
  maxConnectionsPerIp?: number;
  maxConnections: number;
  sessionDeadline: number;
  minDataRate: number;
  maxFailedRecipients: number;
  maxErrorsPerSession: number;
  proxyFrom?: string;
  proxyListeners: string;
  memoryBudgetMib: number;
  streamThresholdKib: number;
}

const listenerNames = Object.keys(defaultListenerConfigs) as (keyof typeof defaultListenerConfigs)[];
const mx = defaultListenerConfigs.mx;

export function addListenerOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--listeners <names>', `SMTP listeners to open, comma-separated: ${listenerNames.join(', ')}`)
        .env('STAFETTE_LISTENERS')
        .default(listenerNames.join(',')),
    )
    .addOption(new Option('--smtp-host <address>', 'bind address of the SMTP listeners').env('STAFETTE_SMTP_HOST').default(mx.host))
    .addOption(
      new Option('--mx-port <port>', 'port of the mx listener (the Service maps 25 to it)').env('STAFETTE_MX_PORT').argParser(integer(0)).default(mx.port),
    )
    .addOption(
      new Option('--submission-port <port>', 'port of the submission listener (587 in the Service)')
        .env('STAFETTE_SUBMISSION_PORT')
        .argParser(integer(0))
        .default(defaultListenerConfigs.submission.port),
    )
    .addOption(
      new Option('--submissions-port <port>', 'port of the implicit-TLS submissions listener (465 in the Service)')
        .env('STAFETTE_SUBMISSIONS_PORT')
        .argParser(integer(0))
        .default(defaultListenerConfigs.submissions.port),
    )
    .addOption(
      new Option('--mx-greeting-delay <ms>', 'pause before the mx greeting; a client talking during it gets 421 (0 for trusted, in-cluster senders)')
        .env('STAFETTE_MX_GREETING_DELAY_MS')
        .argParser(integer(0))
        .default(mx.greetingDelayMs),
    )
    .addOption(new Option('--no-mx-reverse-dns', "do not look up the client's reverse DNS name on mx (shown in Received)"))
    .addOption(
      new Option('--max-connections-per-ip <n>', `connections one client address may hold open per listener; more get 421 (default: ${mx.maxConnectionsPerIp})`)
        .env('STAFETTE_MAX_CONNECTIONS_PER_IP')
        .argParser(integer(1)),
    )
    .addOption(
      new Option('--max-connections <n>', 'connections each listener serves at once; the one after gets 421 and is closed')
        .env('STAFETTE_MAX_CONNECTIONS')
        .argParser(integer(1))
        .default(mx.maxClients),
    )
    .addOption(
      new Option('--session-deadline <seconds>', 'wall-clock limit of one SMTP session; then 421 4.4.2 (slowloris)')
        .env('STAFETTE_SESSION_DEADLINE_SECONDS')
        .argParser(integer(1))
        .default(mx.session.deadlineMs / 1000),
    )
    .addOption(
      new Option('--min-data-rate <bytes-per-second>', `DATA slower than this over any ${mx.session.dataRateWindowMs / 1000} s gets 421 4.4.2; 0 for none`)
        .env('STAFETTE_MIN_DATA_RATE')
        .argParser(integer(0))
        .default(mx.session.minDataRate),
    )
    .addOption(
      new Option('--max-failed-recipients <n>', 'refused RCPTs per session; the next gets 421 4.7.0 (directory harvesting)')
        .env('STAFETTE_MAX_FAILED_RECIPIENTS')
        .argParser(integer(1))
        .default(mx.session.maxFailedRecipients),
    )
    .addOption(
      new Option('--max-errors-per-session <n>', 'error replies per session; the next is 421 4.7.0')
        .env('STAFETTE_MAX_ERRORS_PER_SESSION')
        .argParser(integer(1))
        .default(mx.session.maxErrors),
    )
    .addOption(
      new Option('--proxy-from <ranges>', 'comma-separated CIDR ranges (load balancers) whose connections start with a PROXY v1/v2 header').env(
        'STAFETTE_PROXY_FROM',
      ),
    )
    .addOption(
      new Option('--proxy-listeners <names>', 'listeners that take PROXY headers from --proxy-from')
        .env('STAFETTE_PROXY_LISTENERS')
        .default(listenerNames.join(',')),
    )
    .addOption(
      new Option('--memory-budget-mib <MiB>', 'message data intake may hold in memory at once; beyond it 451 4.3.2')
        .env('STAFETTE_MEMORY_BUDGET_MIB')
        .argParser(integer(1))
        .default(defaultMemoryBudgetBytes / 1024 / 1024),
    )
    .addOption(
      new Option(
        '--stream-threshold-kib <KiB>',
        'a message past this size streams to the Object Store during DATA instead of being held whole (lower: less memory per message, more Object Store writes)',
      )
        .env('STAFETTE_STREAM_THRESHOLD_KIB')
        .argParser(integer(1))
        .default(defaultStreamThresholdBytes / 1024),
    );
}

/** The listeners of --listeners, each with its port and the session limits of the flags. */
export function selectListeners(flags: ListenerFlags): ListenerConfig[] {
  const ports = { mx: flags.mxPort, submission: flags.submissionPort, submissions: flags.submissionsPort };
  const names = flags.listeners
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  return names.map((name) => {
    if (!(listenerNames as string[]).includes(name)) throw new Error(`unknown listener ${name}; known: ${listenerNames.join(', ')}`);
    const known = name as keyof typeof defaultListenerConfigs;
    return listenerConfig(known, {
      host: flags.smtpHost,
      port: ports[known],
      ...(flags.maxConnectionsPerIp !== undefined ? { maxConnectionsPerIp: flags.maxConnectionsPerIp } : {}),
      maxClients: flags.maxConnections,
      proxyFrom: proxyRangesFor(flags, known),
      session: {
        ...defaultListenerConfigs[known].session,
        deadlineMs: flags.sessionDeadline * 1000,
        minDataRate: flags.minDataRate,
        maxFailedRecipients: flags.maxFailedRecipients,
        maxErrors: flags.maxErrorsPerSession,
      },
      ...(known === 'mx' ? { greetingDelayMs: flags.mxGreetingDelay, reverseDns: flags.mxReverseDns } : {}),
    });
  });
}

// The trusted PROXY ranges of one listener: --proxy-from when it is among --proxy-listeners.
function proxyRangesFor(flags: ListenerFlags, listener: string): string[] {
  const chosen = flags.proxyListeners.split(',').map((n) => n.trim());
  if (!flags.proxyFrom || !chosen.includes(listener)) return [];
  return flags.proxyFrom
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
}
