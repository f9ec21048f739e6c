// serviceradar-netflow clickhouse-writer [--config PATH]
import { parseConfigArg } from '../../common/cli.js';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { runUntilSignal } from '../../common/service.js';
import { DEFAULT_CONFIG_PATH, describeConfig, loadWriterConfig } from './config.js';
import { ClickHouseWriterService } from './service.js';

const USAGE = `usage: serviceradar-netflow clickhouse-writer [--config PATH]

The hot tier: FlowBatch messages from JetStream (stream NETFLOW) into
ClickHouse, exactly once, kept for the retention window (2 days by default).
With clickhouse_url set it writes to a ClickHouse server over HTTP(S); without,
to embedded chDB in clickhouse_data_dir.

  --config PATH   config file (default ${DEFAULT_CONFIG_PATH}; absent = defaults)`;

export async function run(argv: string[]): Promise<number> {
  const arg = parseConfigArg(argv, USAGE, DEFAULT_CONFIG_PATH);
  if (typeof arg === 'number') return arg;
  const { path } = arg;
  const config = loadWriterConfig(path, { required: arg.given });
  const log = createLogger('clickhouse-writer');
  log.info({ config: path, ...describeConfig(config), security: config.security.mode }, 'starting');
  await runUntilSignal([new ClickHouseWriterService(config, log, createRegistry('clickhouse-writer'))], log);
  return 0;
}
