// Starting real peer processes (nats-server, clickhouse-server, exporters) for
// tests, on free loopback ports and in temporary folders.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Ports come from below the kernel's ephemeral range: a port probed free in it
// can be taken by an outgoing connection before the peer binds it. Each port
// is handed out once per process, and a port is free only when neither TCP nor
// UDP holds it on loopback (the checker's NetFlow listener is UDP). Test files
// run one after another, each in its own process: the start is spread by pid.
const PORT_FLOOR = 10_000;
const PORT_CEILING = ephemeralFloor();
let nextPort = PORT_FLOOR + ((process.pid * 7919) % (PORT_CEILING - PORT_FLOOR));

function ephemeralFloor(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > PORT_FLOOR + 1000) return low;
  } catch { /* not Linux: the usual default */ }
  return 32_768;
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_CEILING - PORT_FLOOR; tries++) {
    const port = nextPort;
    nextPort = nextPort + 1 >= PORT_CEILING ? PORT_FLOOR : nextPort + 1;
    if (await canBind(port)) return port;
  }
  throw new Error(`no free loopback port in ${PORT_FLOOR}-${PORT_CEILING}`);
}

function canBind(port: number): Promise<boolean> {
  const tcp = new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  const udp = new Promise<boolean>((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => { sock.close(); resolve(false); });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
  });
  return Promise.all([tcp, udp]).then(([t, u]) => t && u);
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `srnf-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try { if (await check()) return; } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export interface Peer {
  proc: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a peer whose output is kept (the last 64 KiB) for failure messages. */
export function spawnPeer(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Peer {
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => { out = (out + d.toString()).slice(-65536); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
