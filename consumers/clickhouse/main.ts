// serviceradar-netflow clickhouse-writer [--config PATH]
import { parseArgs } from 'node:util';
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
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const path = values.config ?? DEFAULT_CONFIG_PATH;
  const config = loadWriterConfig(path, { required: values.config !== undefined });
  const log = createLogger('clickhouse-writer');
  log.info({ config: path, ...describeConfig(config), security: config.security.mode }, 'starting');
  await runUntilSignal([new ClickHouseWriterService(config, log, createRegistry('clickhouse-writer'))], log);
  return 0;
}
