// What two V8 heap snapshots of one process hold, side by side: objects counted and their own
// sizes summed by kind (V8's node type and constructor or name), largest growth first. Used
// with `npm run bench:memory -- --snapshots DIR` (docs/performance.md §2.4.2):
//
//   tools/run-node.sh bench/heap-diff.ts DIR/Heap...001.heapsnapshot DIR/Heap...002.heapsnapshot [--top 30]
//
// A snapshot is taken after a full garbage collection, so both hold what was retained.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mib, positive } from './bench-cli.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: (string[] | string)[] } };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  size: number;
}

/** Count and self size by "type name" (strings and code grouped by type only: their names are their contents). */
export function summarize(file: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const byName = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden';
    const name = byName ? snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 80) : '';
    const key = byName ? `${type} ${name}` : `(${type})`;
    const group = out.get(key) ?? { count: 0, size: 0 };
    group.count++;
    group.size += snap.nodes[i + sizeAt]!;
    out.set(key, group);
  }
  return out;
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
  if (positionals.length !== 2) throw new Error('usage: heap-diff.ts <first.heapsnapshot> <second.heapsnapshot> [--top n]');
  const top = positive(values.top, 'top');
  const [a, b] = positionals.map(summarize) as [Map<string, Group>, Map<string, Group>];
  const total = (m: Map<string, Group>) => [...m.values()].reduce((s, g) => ({ count: s.count + g.count, size: s.size + g.size }), { count: 0, size: 0 });
  const ta = total(a);
  const tb = total(b);
  console.log(`first: ${ta.count} objects, ${mib(ta.size)}; second: ${tb.count} objects, ${mib(tb.size)}`);
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((key) => {
    const x = a.get(key) ?? { count: 0, size: 0 };
    const y = b.get(key) ?? { count: 0, size: 0 };
    return { key, x, y, grew: y.size - x.size };
  });
  const line = (r: (typeof rows)[number]) =>
    `${r.key.padEnd(60)} ${String(r.x.count).padStart(8)} → ${String(r.y.count).padEnd(8)} ${(r.x.size / 1024).toFixed(0).padStart(8)} → ${(r.y.size / 1024).toFixed(0).padEnd(8)} KiB`;
  console.log('\nlargest in the second:');
  for (const r of rows.sort((p, q) => q.y.size - p.y.size).slice(0, top)) console.log(line(r));
  console.log('\ngrew the most:');
  for (const r of rows.sort((p, q) => q.grew - p.grew).slice(0, top)) console.log(line(r));
}

main();
