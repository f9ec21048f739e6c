// Starting real peer processes (nats-server, clickhouse-server, exporters) for
// tests, on free loopback ports and in temporary folders.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Ports come from below the kernel's ephemeral range (32768 and up by default):
// a port probed free up there can be taken by an outgoing connection before
// the peer binds it. Each port is handed out once per process; the start is
// spread by pid so test files running one after another rarely meet.
const PORT_FLOOR = 20_000, PORT_CEILING = 32_000;
let nextPort = PORT_FLOOR + (process.pid % 1_000) * 12;

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_CEILING - PORT_FLOOR; tries++) {
    const port = nextPort;
    nextPort = nextPort + 1 >= PORT_CEILING ? PORT_FLOOR : nextPort + 1;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port in ${PORT_FLOOR}-${PORT_CEILING}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
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
