// /usr/bin/serviceradar-netflow-consumers: both writers of the central host.
import { runCli } from '../../common/cli.js';

runCli('serviceradar-netflow-consumers', {
  'clickhouse-writer': () => import('../../consumers/clickhouse/main.js'),
  'parquet-writer': () => import('../../consumers/iceberg/main.js'),
});
