// `stafette nats-config`: the NATS chart preset (helm/nats-values.yaml) carries exactly the
// authorization nats-roles.ts renders, and its container.env feeds every password it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { authorizationObject, queueNames } from '../mta/src/queue/nats-roles.ts';
import { queueSettings } from '../mta/src/queue/settings.ts';
import { helmAuthorizationValues, rolePasswordEnv, roleUsers } from './nats-config-command.ts';

const preset = parse(readFileSync(join(import.meta.dirname, '../helm/nats-values.yaml'), 'utf8')) as {
  config: { merge: { authorization: unknown } };
  container: { env: Record<string, { valueFrom: { secretKeyRef: { name: string; key: string } } }> };
};

test('helm/nats-values.yaml has the rendered authorization (regenerate: stafette nats-config --format helm)', () => {
  assert.deepEqual(preset.config.merge.authorization, authorizationObject(roleUsers(), queueNames(queueSettings())));
  assert.deepEqual((parse(helmAuthorizationValues()) as typeof preset).config.merge.authorization, preset.config.merge.authorization);
});

test("the preset's container.env gives the NATS servers every role password, from one Secret", () => {
  for (const [role, env] of Object.entries(rolePasswordEnv)) {
    assert.deepEqual(preset.container.env[env]?.valueFrom.secretKeyRef, { name: 'stafette-nats-users', key: `${role}-password` });
  }
});
