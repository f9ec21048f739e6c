// The embedded default's message broker: a real nats-server with JetStream in
// a data folder, run as our child process. Production points nats_url at the
// ServiceRadar NATS cluster instead; this only exists so one command works.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';

export interface LocalNats {
  url: string;
  stop(): Promise<void>;
}

export async function startLocalNats(opts: { host: string; port: number; dataDir: string; extraArgs?: string[]; binary?: string }): Promise<LocalNats> {
  mkdirSync(opts.dataDir, { recursive: true });
  const pidFile = join(opts.dataDir, 'nats-server.pid');
  await reapOrphanNats(opts.dataDir);
  const url = `nats://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  let proc: ChildProcess;
  try {
    // Its own process group: Ctrl-C in the terminal must not stop the broker
    // before the services that flush into it; we stop it last.
    proc = spawn(opts.binary ?? 'nats-server', ['-a', opts.host, '-p', String(opts.port), '-js', '-sd', opts.dataDir, '-P', pidFile, ...(opts.extraArgs ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  } catch (err) {
    throw new Error(`cannot start nats-server: ${(err as Error).message}`);
  }
  let output = '';
  const keep = (d: Buffer) => { output = (output + d.toString()).slice(-16384); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // If our process dies without stopping it, do not leave an orphan broker holding the port.
  const reap = () => { if (proc.exitCode === null) proc.kill('SIGKILL'); };
  process.once('exit', reap);
  exited.then(() => process.off('exit', reap));
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

/**
 * A previous run killed with SIGKILL cannot stop its broker, which then holds
 * the port and the data folder. Its pid file names it; stop it only if that
 * process really is a nats-server on this data folder.
 */
export async function reapOrphanNats(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'nats-server.pid');
  let pid: number;
  try { pid = Number(readFileSync(pidFile, 'utf8').trim()); } catch { return; }
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline: string;
  try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return; }
  if (!cmdline.includes('nats-server') || !cmdline.includes(dataDir)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(pid, 'SIGKILL');
}
