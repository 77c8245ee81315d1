// Follows the logs of every pod matching a selector into one file, including pods that
// appear later (replacements, a rollout's new pods, a StatefulSet's pod recreated under
// its old name: pods are told apart by uid), so the e2e suite can show what the
// MTA pods said about a message after the pod that handled it is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RealNode } from '../harness/node/real-node.ts';
import { listPods } from '../harness/node/workloads.ts';

export interface PodLogs {
  readonly file: string;
  stop(): Promise<void>;
}

export function followPodLogs(node: RealNode, namespace: string, selector: string, file: string): PodLogs {
  const out = createWriteStream(file, { flags: 'a' });
  const followed = new Map<string, ChildProcess>();
  let stopped = false;
  const poll = (async () => {
    while (!stopped) {
      const pods = await listPods(node, namespace, selector).catch(() => []);
      for (const p of pods) {
        const name = p.metadata.name;
        const key = `${name}/${p.metadata.uid ?? ''}`;
        if (followed.has(key) || p.status.phase === 'Pending') continue;
        const child = spawn(node.kubectl, ['--kubeconfig', node.kubeconfig, '--cache-dir', node.cacheDir, 'logs', '-f', '-n', namespace, name], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        let rest = '';
        child.stdout.on('data', (d: Buffer) => {
          const lines = (rest + d.toString()).split('\n');
          rest = lines.pop()!;
          for (const l of lines) out.write(`${name} ${l}\n`);
        });
        followed.set(key, child);
      }
      await sleep(1_000);
    }
  })();
  return {
    file,
    async stop() {
      stopped = true;
      await poll;
      for (const child of followed.values()) if (child.exitCode === null) child.kill();
      await new Promise<void>((resolve) => out.end(resolve));
    },
  };
}
