// The stafette program as a person runs it from a checkout: ./bin/stafette.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/stafette', import.meta.url));

function stafette(...args: string[]) {
  const run = spawnSync(bin, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

function subcommands(): string[] {
  const help = stafette('--help').out;
  const section = help.slice(help.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
}

test('stafette --help lists the subcommands', () => {
  const { status, out } = stafette('--help');
  assert.equal(status, 0);
  assert.match(out, /Usage: stafette/);
  assert.ok(subcommands().includes('render'), out);
});

test('every subcommand has --help', () => {
  for (const command of subcommands()) {
    const { status, out } = stafette(command, '--help');
    assert.equal(status, 0, `${command} --help: ${out}`);
    assert.match(out, new RegExp(`Usage: stafette ${command}`));
  }
});

test('a missing argument is explained, with the usage, and fails', () => {
  const { status, out } = stafette('render', 'examples');
  assert.notEqual(status, 0);
  assert.match(out, /required option '-o, --out <dir>' not specified/);
  assert.match(out, /Usage: stafette render/);
});
