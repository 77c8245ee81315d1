// ESLint for the whole tree (flat config): ESLint's recommended rules and typescript-eslint's
// type-checked recommended rules, which catch what matters most in an async server (promises
// nobody awaits, misused promises, unsafe any). Formatting is Prettier's job, not ESLint's.
// `npm run lint` runs this and `prettier --check`; `make test` runs `npm run lint`.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// ---- TEMPORARY (issue 9, item 8): files with findings, not linted until they are fixed ----
// Fixing them here would collide with the file moves of issue 9 in flight, so the files are
// listed instead (by name under mta/src, operator/src and cli, which are being moved, so a
// moved file stays listed), with the number of findings and their rules. The format commit
// that lands after the moves fixes them and deletes this list; nothing else may be added to it.
const notYetLinted = [
  'bench/end-to-end.ts', // 3: unbound-method
  '**/render-command.test.ts', // 4: no-unsafe-assignment, no-unsafe-argument, no-unsafe-member-access
  'crds/src/crd-schemas.ts', // 1: no-unsafe-return
  'crds/src/validate.ts', // 1: no-unsafe-assignment
  '**/address.ts', // 1: no-control-regex
  '**/delivery-streams.ts', // 2: no-unused-vars
  '**/dsn.test.ts', // 1: no-control-regex
  '**/engine.test.ts', // 7: require-await, restrict-template-expressions
  '**/engine.ts', // 1: no-unnecessary-type-assertion
  '**/forward.test.ts', // 4: require-await
  '**/delivery/index.ts', // 1: unbound-method
  '**/remote-smtp.ts', // 2: unbound-method
  '**/smtp-client-message.ts', // 1: no-control-regex
  '**/smtp-client-reply.test.ts', // 1: no-control-regex
  '**/smtp-client.ts', // 3: unbound-method, no-unnecessary-type-assertion
  '**/sign.test.ts', // 1: require-await
  '**/src/main.ts', // 2: no-unnecessary-type-assertion, prefer-const
  '**/http-server.test.ts', // 3: require-await
  '**/src/ops/metrics.test.ts', // 1: require-await
  '**/config-plan.test.ts', // 1: no-unused-vars
  '**/config-plan.ts', // 2: no-unused-vars, no-unsafe-assignment
  '**/smtp-server-overrides.ts', // 3: unbound-method
  '**/statuses.test.ts', // 3: require-await
  '**/statuses.ts', // 1: only-throw-error
  '**/client.ts', // 2: no-unnecessary-type-assertion
  '**/informer.ts', // 3: no-unnecessary-type-assertion, no-misused-promises
  '**/leader-election.ts', // 1: no-misused-promises
  '**/workqueue.test.ts', // 1: require-await
  '**/src/operator.ts', // 2: unbound-method, require-await
  'test/chart/chart.test.ts', // 71: no-explicit-any, no-unnecessary-type-assertion, no-unsafe-member-access, no-unsafe-argument, no-unsafe-assignment, no-unsafe-call
  'test/delivery/delivery-process.ts', // 2: no-unsafe-argument, no-misused-promises
  'test/delivery/outcomes.test.ts', // 10: no-unsafe-assignment, no-unsafe-member-access, no-unsafe-argument
  'test/delivery/queue-admin-cli.test.ts', // 5: no-unsafe-assignment, no-unsafe-call, no-unsafe-member-access
  'test/delivery/sink-transport.ts', // 1: no-unsafe-argument
  'test/harness/kube-startup.ts', // 1: preserve-caught-error
  'test/harness/nats-server.ts', // 1: require-await
  'test/harness/process.ts', // 1: no-unnecessary-type-assertion
  'test/intake/connections.test.ts', // 1: require-await
  'test/intake/shutdown.test.ts', // 1: no-useless-assignment
  'test/kube/binaries.test.ts', // 2: no-unsafe-assignment, no-unsafe-member-access
  'test/kube/crds.test.ts', // 9: no-unsafe-assignment, no-unsafe-member-access, no-unnecessary-type-assertion
  'test/kube/rbac.test.ts', // 3: no-unsafe-member-access, no-unsafe-argument
  'test/operator/rbac.test.ts', // 3: preserve-caught-error
  'test/queue/outage.test.ts', // 1: no-redundant-type-constituents
  'test/transports/smtp-sink.test.ts', // 1: no-unused-vars
];

export default defineConfig(
  globalIgnores(['node_modules/', '.stafette/', '.make/', 'crds/src/generated/']),
  globalIgnores(notYetLinted, 'TEMPORARY: files with findings (issue 9, item 8)'),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The tsconfig.json project; files outside it (this file) get a default project.
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits; awaiting
      // them at the top of a test file is not how the runner is used. Every other promise
      // must still be awaited, returned, or explicitly voided.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
    },
  },
);
