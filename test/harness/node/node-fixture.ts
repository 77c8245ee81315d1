// A program for test/node/node-lifecycle.test.ts, which runs it as a child to prove the
// real node's lock and crash recovery. FIXTURE_MODE:
//   hold   starts a node, writes "ready" to FIXTURE_OUT and waits (the test SIGKILLs it:
//          nothing of the node is stopped, as in a crash)
//   start  tries to start a node and writes the outcome ("started" or the error) to
//          FIXTURE_OUT; a started node is stopped again at once
import { writeFileSync } from 'node:fs';
import { startRealNode } from './real-node.ts';

const mode = process.env.FIXTURE_MODE;
const out = process.env.FIXTURE_OUT;
if (!out || (mode !== 'hold' && mode !== 'start')) throw new Error('FIXTURE_MODE (hold|start) and FIXTURE_OUT are required');

try {
  const node = await startRealNode();
  if (mode === 'hold') {
    writeFileSync(out, 'ready');
    setInterval(() => {
      /* until killed */
    }, 60_000);
  } else {
    writeFileSync(out, 'started');
    await node.stop();
  }
} catch (err) {
  writeFileSync(out, `error: ${(err as Error).name}: ${(err as Error).message}`);
  process.exitCode = 1;
}
