// The real node's network on this machine: the bridge its pods live on, the route that
// sends the service range onto it, and the FORWARD rules that keep pod traffic on it
// (pod to pod and pod to host pass; anything a pod sends elsewhere, and anything from
// elsewhere to a pod, is dropped). Removal also takes away what kube-proxy, the kubelet
// and kube-router leave behind: KUBE-* chains and the jumps to them, nf_tables tables that
// did not exist before, nfacct counters, kube-router's ipsets.
import { execFileSync } from 'node:child_process';
import { BRIDGE, NODE_IP, POD_CIDR, RULE_COMMENT, SERVICE_CIDR } from './layout.ts';
import { ipsetNames, nfacctNames, type HostSnapshot } from './host-state.ts';

function cmd(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}

function tryCmd(command: string, args: readonly string[]): boolean {
  try {
    cmd(command, args);
    return true;
  } catch {
    return false;
  }
}

/** Our FORWARD rules, in order; each carries RULE_COMMENT so it is removed by its spec. */
const forwardRules: readonly (readonly string[])[] = [
  ['-i', BRIDGE, '-o', BRIDGE, '-j', 'ACCEPT'],
  ['-i', BRIDGE, '-j', 'DROP'],
  ['-o', BRIDGE, '-j', 'DROP'],
];
const withComment = (rule: readonly string[]) => [...rule.slice(0, -2), '-m', 'comment', '--comment', RULE_COMMENT, ...rule.slice(-2)];
/**
 * The same fence in the mangle table, which every forwarded packet meets before the filter
 * table: kube-router (kube-router.ts) puts its jump first in filter FORWARD and ACCEPTs
 * what a NetworkPolicy allows there, an egress to 0.0.0.0/0 included, so the filter
 * rules above would never see that traffic. Nothing a pod sends leaves the bridge either way.
 */
const mangleForwardRules: readonly (readonly string[])[] = [
  ['-i', BRIDGE, '!', '-o', BRIDGE, '-j', 'DROP'],
  ['!', '-i', BRIDGE, '-o', BRIDGE, '-j', 'DROP'],
];

export function setUpNetwork(): void {
  cmd('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  cmd('ip', ['addr', 'add', `${NODE_IP}/${POD_CIDR.split('/')[1]}`, 'dev', BRIDGE]);
  cmd('ip', ['link', 'set', BRIDGE, 'up']);
  // Forwarding on this interface only (pod -> service -> pod is routed back onto the
  // bridge); the machine-wide ip_forward stays as it is. The setting goes with the bridge.
  cmd('sysctl', ['-q', '-w', `net.ipv4.conf.${BRIDGE}.forwarding=1`]);
  // ClusterIPs never leave through the default route, whatever kube-proxy does or not.
  cmd('ip', ['route', 'add', SERVICE_CIDR, 'dev', BRIDGE]);
  forwardRules.forEach((rule, i) => cmd('iptables', ['-w', '-I', 'FORWARD', String(i + 1), ...withComment(rule)]));
  mangleForwardRules.forEach((rule, i) => cmd('iptables', ['-w', '-t', 'mangle', '-I', 'FORWARD', String(i + 1), ...withComment(rule)]));
}

interface NftObject {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string; hook?: string };
  rule?: { family: string; table: string; chain: string; handle: number; expr?: unknown[] };
}

function nftObjects(): NftObject[] {
  try {
    return (JSON.parse(cmd('nft', ['-j', 'list', 'ruleset'])) as { nftables: NftObject[] }).nftables;
  } catch {
    return [];
  }
}

const isKubeChain = (name: string) => name.startsWith('KUBE-');
const jumpsToKube = (expr: unknown[] | undefined) => JSON.stringify(expr ?? []).match(/"(jump|goto)":\{"target":"KUBE-/) !== null;

/** Removes everything of the node from the network; `before` says what existed before it started. */
export function tearDownNetwork(before: HostSnapshot | undefined): string[] {
  const problems: string[] = [];
  for (const rule of forwardRules) {
    while (tryCmd('iptables', ['-w', '-D', 'FORWARD', ...withComment(rule)])) {
      /* every copy */
    }
  }
  for (const rule of mangleForwardRules) {
    while (tryCmd('iptables', ['-w', '-t', 'mangle', '-D', 'FORWARD', ...withComment(rule)])) {
      /* every copy */
    }
  }
  // kube-proxy and kubelet chains (iptables-nft: they live in nf_tables), both families.
  let objects = nftObjects();
  for (const o of objects) {
    const r = o.rule;
    if (r && !isKubeChain(r.chain) && jumpsToKube(r.expr)) {
      if (!tryCmd('nft', ['delete', 'rule', r.family, r.table, r.chain, 'handle', String(r.handle)]))
        problems.push(`could not delete nft rule ${r.family} ${r.table} ${r.chain} ${r.handle}`);
    }
  }
  const kubeChains = objects.flatMap((o) => (o.chain && isKubeChain(o.chain.name) ? [o.chain] : []));
  for (const c of kubeChains) tryCmd('nft', ['flush', 'chain', c.family, c.table, c.name]);
  for (const c of kubeChains) {
    if (!tryCmd('nft', ['delete', 'chain', c.family, c.table, c.name])) problems.push(`could not delete nft chain ${c.family} ${c.table} ${c.name}`);
  }
  // kube-router's ipsets (KUBE-SRC-*, KUBE-DST-*, TMP-* while it swaps one), once no rule
  // refers to them any more; sets that existed before the node are left alone.
  const sets = new Set(before?.ipsets ?? []);
  for (const name of ipsetNames()) {
    if (sets.has(name) || !/^(KUBE-|TMP-)/.test(name)) continue;
    if (!tryCmd('ipset', ['destroy', name])) problems.push(`could not destroy ipset ${name}`);
  }
  // Tables that were not there before and hold no rule now (iptables-nft leaves empty
  // base chains behind; kube-proxy its own `kube-proxy` tables).
  const existed = new Set(
    (before?.nft ?? '')
      .split('\n')
      .map((l) => /^table (\S+) (\S+) \{/.exec(l.trim()))
      .filter((m) => m)
      .map((m) => `${m![1]} ${m![2]}`),
  );
  objects = nftObjects();
  for (const o of objects) {
    const t = o.table;
    if (!t || existed.has(`${t.family} ${t.name}`)) continue;
    const hasRules = objects.some((x) => x.rule && x.rule.family === t.family && x.rule.table === t.name);
    const foreignChain = objects.some((x) => x.chain && x.chain.family === t.family && x.chain.table === t.name && !x.chain.hook);
    if (hasRules || foreignChain) problems.push(`nft table ${t.family} ${t.name} was not there before and still has rules; left alone`);
    else if (!tryCmd('nft', ['delete', 'table', t.family, t.name])) problems.push(`could not delete nft table ${t.family} ${t.name}`);
  }
  const counters = new Set(before?.nfacct ?? []);
  for (const name of nfacctNames()) {
    if (!counters.has(name) && !tryCmd('nfacct', ['del', name])) problems.push(`could not delete nfacct counter ${name}`);
  }
  // Ports pods left (their netns should have taken them), then the bridge and its route.
  for (const line of cmdOr('ip', ['-o', 'link', 'show', 'master', BRIDGE]).split('\n')) {
    const name = line.split(':')[1]?.trim().split('@')[0];
    if (name) tryCmd('ip', ['link', 'delete', name]);
  }
  tryCmd('ip', ['route', 'del', SERVICE_CIDR, 'dev', BRIDGE]);
  if (cmdOr('ip', ['-o', 'link', 'show', BRIDGE]).trim() && !tryCmd('ip', ['link', 'delete', BRIDGE])) problems.push(`could not delete bridge ${BRIDGE}`);
  return problems;
}

function cmdOr(command: string, args: readonly string[]): string {
  try {
    return cmd(command, args);
  } catch {
    return '';
  }
}
