// A clean Debian 12 system booted with systemd as its init, for installing
// our packages the way a user does: debootstrap (minbase) from the Debian
// mirror, booted by systemd-nspawn in a folder of the test's. It shares the
// host's network namespace, so its services and the test's peers meet on
// loopback. Commands run inside with nsenter (there is no machined here).
//
// Node.js 20 is not in Debian 12 (it has 18) and the NodeSource repository
// this host installed it from cannot be reached from here, so the base image
// gets the host's own nodejs package, rebuilt by dpkg-repack: the same files
// and metadata a NodeSource user has.
//
// The base image is made once and kept in .cache/packaging (debootstrap and
// dpkg-repack take a few minutes); every container is a fresh copy of it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, check, run } from './build.js';
import { tempDir, waitFor } from '../helpers/process.js';

const SUITE = 'bookworm';
// man-db: systemd-analyze verify opens each unit's Documentation=man: page.
// python3, ca-certificates: dependencies of NodeSource's nodejs package.
const INCLUDE = ['adduser', 'systemd', 'systemd-sysv', 'dbus', 'openssl', 'man-db', 'procps', 'python3', 'ca-certificates'];
const MIRROR = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

function nodejsDeb(): string {
  const dir = join(CACHE, 'nodejs-repack');
  const existing = existsSync(dir) ? readdirSync(dir).find((f) => /^nodejs_.*\.deb$/.test(f)) : undefined;
  if (existing) return join(dir, existing);
  const version = check('dpkg-query', ['-W', '-f=${Version}', 'nodejs']).trim();
  if (!/^(\d+:)?2\d\./.test(version)) throw new Error(`the host's nodejs package is ${version}; the packages need Node.js 20 or newer`);
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  check('dpkg-repack', ['nodejs'], { cwd: tmp, timeoutMs: 1_800_000 });
  renameSync(tmp, dir);
  return join(dir, readdirSync(dir).find((f) => /^nodejs_.*\.deb$/.test(f))!);
}

/** The tar of a Debian root with systemd and Node.js 20; made on first use. */
export function baseImage(): string {
  const tar = join(CACHE, `debian-${SUITE}-base.tar`);
  if (existsSync(tar)) return tar;
  for (const tool of ['debootstrap', 'dpkg-repack', 'systemd-nspawn', 'nsenter']) {
    if (run('sh', ['-c', `command -v ${tool}`]).code !== 0) throw new Error(`${tool} is missing: apt-get install debootstrap dpkg-repack systemd-container (scripts/deps/apt-test.txt)`);
  }
  const node = nodejsDeb();
  const work = join(CACHE, 'base.partial');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const root = join(work, 'root');
  try {
    check('debootstrap', ['--variant=minbase', `--include=${INCLUDE.join(',')}`, SUITE, root, MIRROR], { timeoutMs: 1_800_000 });
    cpSync(node, join(root, 'var/tmp/nodejs.deb'));
    check('chroot', [root, 'dpkg', '-i', '/var/tmp/nodejs.deb'], { timeoutMs: 1_800_000 });
    check('chroot', [root, 'sh', '-c', 'rm -f /var/tmp/nodejs.deb && apt-get clean && node --version']);
    check('tar', ['-C', root, '-cf', `${tar}.partial`, '.'], { timeoutMs: 1_800_000 });
    renameSync(`${tar}.partial`, tar);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return tar;
}

export interface Exec { code: number; stdout: string; stderr: string }

export interface Container {
  /** The container's root folder, as the host sees it. */
  root: string;
  /** Runs a command inside (as root, with a clean environment). */
  exec(args: string[], opts?: { input?: string; timeoutMs?: number }): Exec;
  /** Runs `sh -c script` inside; throws with its output if it fails. */
  sh(script: string, opts?: { timeoutMs?: number }): string;
  /** The last lines of a unit's journal, for failure messages. */
  journal(unit: string): string;
  /** Powers the container off and removes its folder. */
  destroy(): Promise<void>;
}

export async function bootContainer(): Promise<Container> {
  const tar = baseImage();
  const dir = tempDir('debian');
  const root = join(dir.path, 'root');
  mkdirSync(root);
  check('tar', ['-C', root, '-xf', tar], { timeoutMs: 600_000 });
  const machine = `srnf-${process.pid}-${Date.now() % 100000}`;
  const nspawn: ChildProcess = spawn('systemd-nspawn', ['-q', '-D', root, '--boot', '--register=no', '--keep-unit', '-M', machine, '--console=passive'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  nspawn.stdout!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-16384); });
  nspawn.stderr!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-16384); });
  const exited = new Promise<void>((resolve) => nspawn.once('exit', () => resolve()));

  let leader = 0;
  await waitFor('the container to boot', () => {
    if (nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited: ${output}`);
    const ps = run('ps', ['-o', 'pid=,comm=', '--ppid', String(nspawn.pid)]).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    const init = ps.find(([, comm]) => comm === 'systemd');
    if (init) leader = Number(init[0]);
    return leader > 0;
  }, 60_000);

  const exec = (args: string[], opts: { input?: string; timeoutMs?: number } = {}): Exec => {
    const r = spawnSync('nsenter', ['-t', String(leader), '-m', '-u', '-i', '-p', '-r', '-w', '--', 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'HOME=/root', ...args],
      { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`nsenter ${args.join(' ')}: ${r.error.message}`);
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const sh = (script: string, opts: { timeoutMs?: number } = {}) => {
    const r = exec(['sh', '-c', script], opts);
    if (r.code !== 0) throw new Error(`in the container: ${script}\nexited ${r.code}:\n${(r.stdout + r.stderr).slice(-4000)}`);
    return r.stdout;
  };

  await waitFor('systemd in the container to finish booting', () => {
    const state = exec(['systemctl', 'is-system-running']).stdout.trim();
    return state === 'running' || state === 'degraded';
  }, 120_000, 500);

  return {
    root,
    exec,
    sh,
    journal: (unit) => exec(['journalctl', '-u', unit, '--no-pager', '-n', '60', '-o', 'cat']).stdout,
    async destroy() {
      if (nspawn.exitCode === null) {
        exec(['systemctl', 'poweroff']);
        const timer = setTimeout(() => nspawn.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      dir.remove();
    },
  };
}
