import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReference } from '../../common/config-docs.js';
import { CONFIG_FILES } from '../../common/config-files.js';

test('docs/CONFIGURATION.md is what the schemas say (regenerate: node scripts/gen-config-docs.mjs)', () => {
  const doc = readFileSync(new URL('../../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
  assert.equal(doc, configReference(CONFIG_FILES));
  // Each key every service reads appears, with the PRD's paths.
  for (const key of ['listen_addr', 'nats_url', 'clickhouse_url', 'batch_size', 'output_path', 'iceberg_catalog', 'netflow.realtime_threshold', 'security.tls.ca_file']) {
    assert.match(doc, new RegExp(`\\| \`${key.replace('.', '\\.')}\``), key);
  }
  for (const path of ['/etc/serviceradar/checkers/netflow.json', '/etc/serviceradar/netflow-clickhouse.json', '/etc/serviceradar/netflow-parquet.json', '/etc/serviceradar/core.json']) {
    assert.ok(doc.includes(path), path);
  }
});
