// serviceradar-netflow parquet-writer [--config PATH]
import { parseConfigArg } from '../../common/cli.js';
import { createLogger } from '../../common/log.js';
import { runUntilSignal } from '../../common/service.js';
import { DEFAULT_CONFIG_PATH, loadParquetWriterConfig } from './config.js';
import { ParquetWriterService } from './service.js';

const USAGE = `usage: serviceradar-netflow parquet-writer [--config PATH]

The cold tier: FlowBatch messages from JetStream (stream NETFLOW) into an
Apache Iceberg table of Parquet files, exactly once, with compaction and
retention.

  --config PATH   config file (default ${DEFAULT_CONFIG_PATH}; absent = defaults)`;

export async function run(argv: string[]): Promise<number> {
  const arg = parseConfigArg(argv, USAGE, DEFAULT_CONFIG_PATH);
  if (typeof arg === 'number') return arg;
  const { path } = arg;
  const config = loadParquetWriterConfig(path, { required: arg.given });
  const log = createLogger('parquet-writer');
  log.info({ config: path, nats_url: config.nats_url, catalog: config.iceberg_catalog || `fs:${config.output_path}`, table: config.iceberg_table, batch_size: config.batch_size, batch_interval_ms: config.batch_interval, security: config.security.mode }, 'starting');
  await runUntilSignal([new ParquetWriterService(config, log)], log);
  return 0;
}
