// The embedded default's message broker: a real nats-server with JetStream in
// a data folder, run as our child process. Production points nats_url at the
// ServiceRadar NATS cluster instead; this only exists so one command works.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'nats';

export interface LocalNats {
  url: string;
  stop(): Promise<void>;
}

export async function startLocalNats(opts: { host: string; port: number; dataDir: string; extraArgs?: string[]; binary?: string }): Promise<LocalNats> {
  mkdirSync(opts.dataDir, { recursive: true });
  const url = `nats://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  let proc: ChildProcess;
  try {
    proc = spawn(opts.binary ?? 'nats-server', ['-a', opts.host, '-p', String(opts.port), '-js', '-sd', opts.dataDir, ...(opts.extraArgs ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`cannot start nats-server: ${(err as Error).message}`);
  }
  let output = '';
  const keep = (d: Buffer) => { output = (output + d.toString()).slice(-16384); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => proc.once('error', (err) => reject(new Error(`cannot start nats-server: ${err.message} (is the nats-server package installed?)`))));

  const until = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) {
      const inUse = /address already in use/i.test(output);
      throw new Error(inUse ? `port ${opts.port} is already in use (nats-server)` : `nats-server exited: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    try {
      const nc = await Promise.race([connect({ servers: url, reconnect: false, timeout: 500 }), spawnError]);
      await nc.close();
      break;
    } catch (err) {
      if ((err as Error).message.startsWith('cannot start')) throw err;
      if (Date.now() > until) { proc.kill('SIGKILL'); throw new Error(`nats-server did not accept connections on ${url} within 20 s`); }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
