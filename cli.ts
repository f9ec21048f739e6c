#!/usr/bin/env node
// serviceradar-netflow: one binary, a subcommand per service and tool.
import { runCli } from './common/cli.js';

runCli('serviceradar-netflow', {
  checker: () => import('./checker/main.js'),
  'clickhouse-writer': () => import('./consumers/clickhouse/main.js'),
  'parquet-writer': () => import('./consumers/iceberg/main.js'),
  core: () => import('./core-extension/main.js'),
  demo: () => import('./demo/main.js'),
  decode: () => import('./checker/decode-cli.js'),
});
