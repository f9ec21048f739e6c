// The packages under test, built by the product's own command
// (packaging/build.sh), once per state of the sources: the output is kept in
// .cache/packaging/out-<hash of every source file> so the test files of one
// run share one build.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = process.cwd();
export const CACHE = join(REPO, '.cache', 'packaging');

/** What a package's contents depend on: every tracked or new file outside tests, docs and caches. */
function sourceHash(): string {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '--', 'packaging', 'common', 'checker', 'consumers', 'core-extension', 'proto', 'scripts/gen-proto.mjs', 'cli.ts', 'package.json', 'package-lock.json'], { cwd: REPO, encoding: 'utf8' })
    .split('\n').filter(Boolean).sort();
  const h = createHash('sha256');
  for (const f of files) {
    if (!existsSync(join(REPO, f))) continue;
    h.update(f).update('\0').update(readFileSync(join(REPO, f))).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

export interface Packages {
  dir: string;
  deb(name: string): string;
  rpm(name: string): string;
  version: string;
}

export const NAMES = ['serviceradar-netflow-checker', 'serviceradar-netflow-consumers', 'serviceradar-netflow-core'] as const;
export type PackageName = typeof NAMES[number];

export function buildPackages(): Packages {
  const dir = join(CACHE, `out-${sourceHash()}`);
  if (!existsSync(join(dir, '.complete'))) {
    for (const old of existsSync(CACHE) ? readdirSync(CACHE).filter((f) => f.startsWith('out-')) : []) rmSync(join(CACHE, old), { recursive: true, force: true });
    const tmp = `${dir}.partial`;
    const r = spawnSync('bash', ['packaging/build.sh', tmp], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PKG_COMPRESS: 'fast' }, timeout: 30 * 60_000 });
    if (r.status !== 0) throw new Error(`packaging/build.sh failed (${r.status ?? r.signal}):\n${(r.stdout + r.stderr).slice(-4000)}`);
    execFileSync('touch', [join(tmp, '.complete')]);
    renameSync(tmp, dir);
  }
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const files = readdirSync(dir);
  const find = (re: RegExp, what: string) => {
    const f = files.find((x) => re.test(x));
    if (!f) throw new Error(`no ${what} in ${dir}: ${files.join(', ')}`);
    return join(dir, f);
  };
  return {
    dir,
    version,
    deb: (name) => find(new RegExp(`^${name}_${version}-1_(all|amd64)\\.deb$`), `${name} .deb`),
    rpm: (name) => find(new RegExp(`^${name}-${version}-1\\.(noarch|x86_64)\\.rpm$`), `${name} .rpm`),
  };
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 600_000, cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and returns stdout; throws with the output on a non-zero exit. */
export function check(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): string {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${(r.stdout + r.stderr).slice(-4000)}`);
  return r.stdout;
}
