import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  carriesEnhancedCode,
  checkUpstream,
  ehloLinesShown,
  greetingDelayOf,
  initWithGreetingDelay,
  upstreamGreetingDelayMs,
} from './smtp-server-overrides.ts';

// A stand-in for SMTPConnection's internals, recording what init() does.
function fakeConnection(options: { greetingDelayMs?: number; maxClients?: number }, openConnections = 1) {
  const events: string[] = [];
  const connection = {
    _server: { options, connections: new Set(Array.from({ length: openConnections }, (_, i) => i)) },
    name: 'mx.test',
    secure: false,
    _setListeners(callback: () => void) {
      events.push('listeners');
      callback();
    },
    connectionReady() {
      events.push('ready');
    },
    send(code: number, data?: string | string[]) {
      events.push(`send ${code} ${String(data)}`);
    },
    init() {},
  };
  const scheduled: number[] = [];
  const pending: (() => void)[] = [];
  const init = () =>
    initWithGreetingDelay.call(connection, (run, delay) => {
      scheduled.push(delay);
      pending.push(run);
    });
  return { events, scheduled, pending, init };
}

describe('smtp-server overrides - greeting pause per listener', () => {
  test('the installed smtp-server still has the init() and send() this module replaces', () => {
    assert.deepEqual(checkUpstream(), []);
  });

  test('a changed upstream is reported, so an upgrade cannot silently drop the override', () => {
    const problems = checkUpstream({ init() {}, send() {}, connectionReady() {} });
    assert.ok(problems.some((p) => p.includes('connectionReady(), 100')));
    assert.ok(problems.some((p) => p.includes('_setListeners() is gone')));
  });

  test('greetingDelayMs 0 (submission): the greeting is started at once, no timer is scheduled', () => {
    const c = fakeConnection({ greetingDelayMs: 0 });
    c.init();
    assert.deepEqual(c.events, ['listeners', 'ready']);
    assert.deepEqual(c.scheduled, []);
  });

  test('greetingDelayMs 100 (MX): the greeting waits for a 100 ms timer, during which an early talker is refused', () => {
    const c = fakeConnection({ greetingDelayMs: 100 });
    c.init();
    assert.deepEqual(c.events, ['listeners']);
    assert.deepEqual(c.scheduled, [100]);
    c.pending[0]!();
    assert.deepEqual(c.events, ['listeners', 'ready']);
  });

  test("a server without the option keeps smtp-server's own 100 ms", () => {
    assert.equal(greetingDelayOf({}), upstreamGreetingDelayMs);
    assert.equal(greetingDelayOf({ greetingDelayMs: -1 }), upstreamGreetingDelayMs);
    const c = fakeConnection({});
    c.init();
    assert.deepEqual(c.scheduled, [100]);
  });

  test('over maxClients the connection gets 421 and no greeting, as upstream', () => {
    const c = fakeConnection({ greetingDelayMs: 0, maxClients: 1 }, 2);
    c.init();
    assert.deepEqual(c.events, ['listeners', 'send 421 mx.test Too many connected clients, try again in a moment']);
  });
});

describe('smtp-server overrides - enhanced codes of SmtpError replies', () => {
  test('a reply text that starts with an enhanced code keeps it and gets no second one', () => {
    assert.equal(carriesEnhancedCode('5.7.1 Relaying denied', undefined), true);
    assert.equal(carriesEnhancedCode('4.3.0 Temporary queue failure', undefined), true);
  });

  test("smtp-server's own replies and explicit contexts are left alone", () => {
    assert.equal(carriesEnhancedCode('Error: need MAIL command', undefined), false);
    assert.equal(carriesEnhancedCode('5.7.1 x', 'MAIL_FROM_OK'), false);
    assert.equal(carriesEnhancedCode(['5.7.1 a', 'b'], undefined), false);
  });
});

describe('smtp-server overrides - AUTH only after TLS', () => {
  const ehlo = ['mx.test Nice to meet you', 'PIPELINING', 'AUTH PLAIN LOGIN', 'STARTTLS'];

  test('the EHLO reply of an unencrypted connection leaves AUTH out when the listener says so', () => {
    assert.deepEqual(ehloLinesShown(250, ehlo, false, false, { hideAuthBeforeTls: true }), ['mx.test Nice to meet you', 'PIPELINING', 'STARTTLS']);
  });

  test('after TLS, without the option, and for other replies, nothing changes', () => {
    assert.equal(ehloLinesShown(250, ehlo, false, true, { hideAuthBeforeTls: true }), ehlo);
    assert.equal(ehloLinesShown(250, ehlo, false, false, {}), ehlo);
    assert.equal(ehloLinesShown(214, ehlo, false, false, { hideAuthBeforeTls: true }), ehlo);
  });
});
