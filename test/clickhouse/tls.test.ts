// @clickhouse/client against clickhouse-server 18.16 over HTTPS with a
// password: the CA from clickhouse_tls is trusted, an unknown CA is not, a
// wrong password is refused without the password showing in the error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openEngine } from '../../consumers/clickhouse/engine.js';
import { makePki, type Pki } from '../checker/certs.js';
import { startClickHouseServer, type ClickHouseServer } from '../helpers/clickhouse-server.js';

describe('clickhouse-server 18.16 over HTTPS', () => {
  let pki: Pki;
  let server: ClickHouseServer;
  before(async () => {
    pki = makePki();
    server = await startClickHouseServer({ tls: { certFile: pki.file('server.pem'), keyFile: pki.file('server-key.pem') } });
  });
  after(async () => { await server.destroy(); pki.remove(); });

  const tls = (ca: string) => ({ ca_file: ca, cert_file: '', key_file: '' });

  test('user, password and the configured CA: queries and inserts work', async () => {
    const engine = await openEngine({ clickhouse_url: server.httpsUrl, clickhouse_user: server.user, clickhouse_password: server.password, clickhouse_tls: tls(pki.file('root.pem')) });
    try {
      assert.equal(engine.kind, 'server');
      assert.match(engine.version, /^18\.16\./);
      await engine.exec('CREATE TABLE IF NOT EXISTS default.tls_check (n UInt64, s String) ENGINE = MergeTree() ORDER BY n');
      await engine.insert('default.tls_check', [{ n: 7, s: 'over https' }]);
      assert.deepEqual(await engine.query('SELECT n, s FROM default.tls_check'), [{ n: '7', s: 'over https' }]);
    } finally {
      await engine.close();
    }
  });

  test('a server certificate from an untrusted CA is refused', async () => {
    await assert.rejects(openEngine({ clickhouse_url: server.httpsUrl, clickhouse_user: server.user, clickhouse_password: server.password, clickhouse_tls: tls(pki.file('rogue-root.pem')) }), /certificate/i);
  });

  test('a wrong password is refused, and the error does not show it', async () => {
    const wrong = 'not-the-password-0451';
    await assert.rejects(openEngine({ clickhouse_url: server.httpsUrl, clickhouse_user: server.user, clickhouse_password: wrong, clickhouse_tls: tls(pki.file('root.pem')) }), (e: Error) => {
      assert.match(e.message, /ClickHouse at https:\/\/localhost:\d+: .*(password|Authentication|auth)/i);
      assert.ok(!e.message.includes(wrong), e.message);
      return true;
    });
  });
});
