// serviceradar-netflow core [--config PATH]
// serviceradar-netflow core hash [--token]   (reads a password from stdin, or makes an API token)
import { parseArgs } from 'node:util';
import { parseConfigArg } from '../common/cli.js';
import { createLogger } from '../common/log.js';
import { runUntilSignal } from '../common/service.js';
import { hashPassword, hashToken, newToken } from './api/auth.js';
import { DEFAULT_CONFIG_PATH, loadCoreConfig } from './config.js';
import { CoreService } from './service.js';

const USAGE = `usage: serviceradar-netflow core [--config PATH]
       serviceradar-netflow core hash [--token]

Serves /api/netflow (ClickHouse for recent ranges, DuckDB over Iceberg for
older ones), the web UI, /metrics, and the poller's netflow check over gRPC.

  --config PATH   config file (default ${DEFAULT_CONFIG_PATH}; absent = defaults)

hash            reads a password on stdin and prints the password_hash for
                core.json "users"
hash --token    makes a new API token; prints it (give it to the machine) and
                the token_hash for core.json "api_tokens"`;

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'hash') return hash(argv.slice(1));
  const arg = parseConfigArg(argv, USAGE, DEFAULT_CONFIG_PATH);
  if (typeof arg === 'number') return arg;
  const { path } = arg;
  const config = loadCoreConfig(path);
  const log = createLogger('core-extension');
  log.info({ config: path, http: config.http.listen_addr, grpc: config.grpc.listen_addr, realtime_threshold_ms: config.netflow.realtime_threshold, security: config.security.mode }, 'starting');
  await runUntilSignal([new CoreService(config, log)], log);
  return 0;
}

async function hash(argv: string[]): Promise<number> {
  let values: { token?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { token: { type: 'boolean' } }, strict: true }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.token) {
    const token = newToken();
    console.log(JSON.stringify({ token, api_tokens_entry: { name: 'CHANGE-ME', token_hash: hashToken(token) } }, null, 2));
    return 0;
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!password) { console.error('give the password on stdin: echo -n "secret" | serviceradar-netflow core hash'); return 2; }
  console.log(await hashPassword(password));
  return 0;
}
