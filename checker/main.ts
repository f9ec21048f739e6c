// serviceradar-netflow checker [--config PATH]
import { parseConfigArg } from '../common/cli.js';
import { createLogger } from '../common/log.js';
import { runUntilSignal } from '../common/service.js';
import { DEFAULT_CONFIG_PATH, loadCheckerConfig } from './config.js';
import { CheckerService } from './service.js';

const USAGE = `usage: serviceradar-netflow checker [--config PATH]

NetFlow v5/v9 on UDP in, FlowBatch messages on JetStream (netflow.raw) out,
health for the ServiceRadar agent over gRPC.

  --config PATH   config file (default ${DEFAULT_CONFIG_PATH}; absent = defaults)`;

export async function run(argv: string[]): Promise<number> {
  const arg = parseConfigArg(argv, USAGE, DEFAULT_CONFIG_PATH);
  if (typeof arg === 'number') return arg;
  const config = loadCheckerConfig(arg.path, { required: arg.given });
  const log = createLogger('checker');
  log.info({ config: arg.path, listen_addr: config.listen_addr, grpc_listen_addr: config.grpc_listen_addr, nats_url: config.nats_url, security: config.security.mode }, 'starting');
  await runUntilSignal([new CheckerService(config, log)], log);
  return 0;
}
