// The command-line dispatcher shared by the all-in-one `serviceradar-netflow`
// (cli.ts) and each package's binary (packaging/entries/), which lists only
// the commands that package carries: the loaders stay in the entry file so a
// bundler sees exactly the modules one package needs.
import { parseArgs } from 'node:util';
import { ConfigError } from './config.js';
import { maskUrlCredentials } from './redact.js';

export type CommandName = 'checker' | 'clickhouse-writer' | 'parquet-writer' | 'core' | 'demo' | 'decode';

export const DESCRIPTIONS: Record<CommandName, string> = {
  checker: 'edge checker: NetFlow UDP in, JetStream out, gRPC health for the agent',
  'clickhouse-writer': 'hot tier: NETFLOW stream into ClickHouse',
  'parquet-writer': 'cold tier: NETFLOW stream into an Iceberg table of Parquet files',
  core: 'core-extension: /api/netflow, the web UI and the poller check',
  demo: 'everything on embedded defaults, with a built-in traffic source',
  decode: 'decode a pcap of NetFlow datagrams to one JSON record per line',
};

export type Loaders = Partial<Record<CommandName, () => Promise<{ run(argv: string[]): Promise<number | void> }>>>;

function usage(program: string, loaders: Loaders): string {
  const rows = (Object.keys(loaders) as CommandName[]).map((name) => `  ${name.padEnd(18)} ${DESCRIPTIONS[name]}`);
  return `usage: ${program} <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nEach command takes --help.`;
}

async function dispatch(program: string, loaders: Loaders, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') { console.log(usage(program, loaders)); return name ? 0 : 2; }
  const load = Object.hasOwn(loaders, name) ? loaders[name as CommandName] : undefined;
  if (!load) { console.error(`unknown command "${name}"\n\n${usage(program, loaders)}`); return 2; }
  const mod = await load();
  return (await mod.run(rest)) ?? 0;
}

/** Runs the command named by argv[0]; sets the exit code (2 for usage and config errors, 1 for others). */
export function runCli(program: string, loaders: Loaders, argv = process.argv.slice(2)): void {
  dispatch(program, loaders, argv).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      // Users get the reason, not a stack trace; DEBUG=1 shows the trace.
      const e = err as Error;
      // Library messages may quote a URL with its credentials (fetch does): they are masked here too.
      console.error(`${program}: ${e instanceof ConfigError ? '' : 'error: '}${maskUrlCredentials(e.message)}`);
      if (process.env.DEBUG) console.error(maskUrlCredentials(e.stack ?? ''));
      process.exitCode = e instanceof ConfigError ? 2 : 1;
    },
  );
}

/** A service command's `[--config PATH]`: the path to read, and whether the user named it. */
export interface ConfigArg { path: string; given: boolean }

/**
 * Parses `[--config PATH] [--help]` for a service command. Returns the config
 * path, or the exit code after printing the usage (0 for --help, 2 for bad arguments).
 */
export function parseConfigArg(argv: string[], usage: string, defaultPath: string): ConfigArg | number {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) { console.log(usage); return 0; }
  return { path: values.config ?? defaultPath, given: values.config !== undefined };
}
