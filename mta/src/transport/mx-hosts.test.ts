import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DnsResolver, MxRecord } from '../dns.ts';
import { findMailHosts, isNullMx, orderMx } from './mx-hosts.ts';

/** A declarative fake zone (mailauth's dns-zone idea): records per name, or an error code. */
function zone(records: {
  mx?: Record<string, MxRecord[] | string>;
  a?: Record<string, string[] | string>;
  aaaa?: Record<string, string[] | string>;
}): DnsResolver {
  const lookup = <T>(table: Record<string, T | string> | undefined, name: string): Promise<T> => {
    const value = table?.[name];
    if (value === undefined) return Promise.reject(Object.assign(new Error(`no data for ${name}`), { code: 'ENODATA' }));
    if (typeof value === 'string') return Promise.reject(Object.assign(new Error(value), { code: value }));
    return Promise.resolve(value);
  };
  return {
    resolveMx: (d) => lookup(records.mx, d),
    resolve4: (h) => lookup(records.a, h),
    resolve6: (h) => lookup(records.aaaa, h),
    resolveTxt: () => Promise.reject(Object.assign(new Error('none'), { code: 'ENODATA' })),
  };
}

test('MX hosts come in preference order with their addresses', async () => {
  const resolver = zone({
    mx: {
      'a.test': [
        { exchange: 'mx2.a.test', priority: 20 },
        { exchange: 'mx1.a.test', priority: 10 },
      ],
    },
    a: { 'mx1.a.test': ['127.0.0.2'], 'mx2.a.test': ['127.0.0.3'] },
    aaaa: { 'mx1.a.test': ['::1'] },
  });
  assert.deepEqual(await findMailHosts('a.test', resolver), {
    ok: true,
    hosts: [
      { name: 'mx1.a.test', addresses: ['127.0.0.2', '::1'] },
      { name: 'mx2.a.test', addresses: ['127.0.0.3'] },
    ],
  });
});

test('equal preferences are shuffled with the injected random source', () => {
  const records = [
    { exchange: 'a', priority: 5 },
    { exchange: 'b', priority: 5 },
    { exchange: 'c', priority: 1 },
  ];
  assert.deepEqual(
    orderMx(records, () => 0),
    ['c', 'b', 'a'],
  );
  assert.deepEqual(
    orderMx(records, () => 0.99),
    ['c', 'a', 'b'],
  );
});

test('no MX records: the domain itself is the implicit MX (A/AAAA fallback)', async () => {
  const resolver = zone({ a: { 'b.test': ['127.0.0.4'] } });
  assert.deepEqual(await findMailHosts('b.test', resolver), { ok: true, hosts: [{ name: 'b.test', addresses: ['127.0.0.4'] }] });
});

test('a null MX is permanent 556 5.1.10', async () => {
  assert.ok(isNullMx([{ exchange: '', priority: 0 }]));
  const result = await findMailHosts('null.test', zone({ mx: { 'null.test': [{ exchange: '', priority: 0 }] } }));
  assert.deepEqual(result.ok ? null : [result.status, result.reply.code, result.reply.enhanced], ['permanent', 556, '5.1.10']);
});

test('NXDOMAIN is permanent 5.1.2; no MX and no address is permanent too', async () => {
  const nx = await findMailHosts('gone.test', zone({ mx: { 'gone.test': 'ENOTFOUND' } }));
  assert.deepEqual(nx.ok ? null : [nx.status, nx.reply.enhanced], ['permanent', '5.1.2']);
  const empty = await findMailHosts('empty.test', zone({}));
  assert.deepEqual(empty.ok ? null : [empty.status, empty.reply.enhanced], ['permanent', '5.4.4']);
  const deadMx = await findMailHosts('c.test', zone({ mx: { 'c.test': [{ exchange: 'mx.gone.test', priority: 1 }] }, a: { 'mx.gone.test': 'ENOTFOUND' } }));
  assert.deepEqual(deadMx.ok ? null : [deadMx.status, deadMx.reply.enhanced], ['permanent', '5.4.4']);
});

test('SERVFAIL or a timeout is transient 4.4.3, for the MX lookup or for the hosts', async () => {
  for (const code of ['ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED']) {
    const result = await findMailHosts('d.test', zone({ mx: { 'd.test': code } }));
    assert.deepEqual(result.ok ? null : [result.status, result.reply.code, result.reply.enhanced], ['transient', 451, '4.4.3'], code);
  }
  const hostFail = await findMailHosts('e.test', zone({ mx: { 'e.test': [{ exchange: 'mx.e.test', priority: 1 }] }, a: { 'mx.e.test': 'ETIMEOUT' } }));
  assert.deepEqual(hostFail.ok ? null : hostFail.status, 'transient');
});

test('hosts that do not resolve are skipped when another one does', async () => {
  const resolver = zone({
    mx: {
      'f.test': [
        { exchange: 'bad.f.test', priority: 1 },
        { exchange: 'good.f.test', priority: 2 },
      ],
    },
    a: { 'bad.f.test': 'ENOTFOUND', 'good.f.test': ['127.0.0.9'] },
  });
  assert.deepEqual(await findMailHosts('f.test', resolver), { ok: true, hosts: [{ name: 'good.f.test', addresses: ['127.0.0.9'] }] });
});
