#!/usr/bin/env node
// serviceradar-netflow: one binary, a subcommand per service and tool.
import { ConfigError } from './common/config.js';

interface Command { describe: string; load: () => Promise<{ run(argv: string[]): Promise<number | void> }> }

const COMMANDS: Record<string, Command> = {
  checker: { describe: 'edge checker: NetFlow UDP in, JetStream out, gRPC health for the agent', load: () => import('./checker/main.js') },
  'clickhouse-writer': { describe: 'hot tier: NETFLOW stream into ClickHouse', load: () => import('./consumers/clickhouse/main.js') },
  'parquet-writer': { describe: 'cold tier: NETFLOW stream into an Iceberg table of Parquet files', load: () => import('./consumers/iceberg/main.js') },
  core: { describe: 'core-extension: /api/netflow, the web UI and the poller check', load: () => import('./core-extension/main.js') },
  demo: { describe: 'everything on embedded defaults, with a built-in traffic source', load: () => import('./demo/main.js') },
  decode: { describe: 'decode a pcap of NetFlow datagrams to one JSON record per line', load: () => import('./checker/decode-cli.js') },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(18)} ${c.describe}`);
  return `usage: serviceradar-netflow <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nEach command takes --help.`;
}

async function main(): Promise<number> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h') { console.log(usage()); return name ? 0 : 2; }
  const cmd = COMMANDS[name];
  if (!cmd) { console.error(`unknown command "${name}"\n\n${usage()}`); return 2; }
  const mod = await cmd.load();
  return (await mod.run(rest)) ?? 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Users get the reason, not a stack trace; DEBUG=1 shows the trace.
    const e = err as Error;
    console.error(`serviceradar-netflow: ${e instanceof ConfigError ? '' : 'error: '}${e.message}`);
    if (process.env.DEBUG) console.error(e.stack);
    process.exitCode = e instanceof ConfigError ? 2 : 1;
  },
);
