// serviceradar-netflow checker [--config PATH]
import { parseArgs } from 'node:util';
import { createLogger } from '../common/log.js';
import { runUntilSignal } from '../common/service.js';
import { DEFAULT_CONFIG_PATH, loadCheckerConfig } from './config.js';
import { CheckerService } from './service.js';

const USAGE = `usage: serviceradar-netflow checker [--config PATH]

NetFlow v5/v9 on UDP in, FlowBatch messages on JetStream (netflow.raw) out,
health for the ServiceRadar agent over gRPC.

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
  const config = loadCheckerConfig(values.config ?? DEFAULT_CONFIG_PATH, { required: values.config !== undefined });
  const log = createLogger('checker');
  log.info({ config: values.config ?? DEFAULT_CONFIG_PATH, listen_addr: config.listen_addr, grpc_listen_addr: config.grpc_listen_addr, nats_url: config.nats_url, security: config.security.mode }, 'starting');
  await runUntilSignal([new CheckerService(config, log)], log);
  return 0;
}
