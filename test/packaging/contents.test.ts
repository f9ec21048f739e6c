// The built packages, as dpkg, rpm and lintian see them: what each carries,
// what it requires, its configuration files, its units' hardening. The
// expectations are the packaging design (packaging/README.md), written out
// here by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackages, check, NAMES, run, type PackageName } from './build.js';
import { parseUnit } from './units.js';

const pkgs = buildPackages();

interface Expect {
  arch: { deb: string; rpm: string };
  user: string;
  units: string[];
  conffiles: string[];
  native: boolean;
  /** A unit that may bind a UDP port below 1024. */
  bindsLowPort: boolean;
  readWrite: Record<string, string[]>;
}

const EXPECT: Record<PackageName, Expect> = {
  'serviceradar-netflow-checker': {
    arch: { deb: 'all', rpm: 'noarch' }, user: 'serviceradar-netflow-checker', native: false, bindsLowPort: true,
    units: ['serviceradar-netflow-checker.service'],
    conffiles: ['/etc/serviceradar/checkers/netflow.json'],
    readWrite: { 'serviceradar-netflow-checker.service': [] },
  },
  'serviceradar-netflow-consumers': {
    arch: { deb: 'amd64', rpm: 'x86_64' }, user: 'serviceradar-netflow-consumers', native: true, bindsLowPort: false,
    units: ['serviceradar-netflow-clickhouse-writer.service', 'serviceradar-netflow-parquet-writer.service'],
    conffiles: ['/etc/serviceradar/netflow-clickhouse.json', '/etc/serviceradar/netflow-parquet.json'],
    readWrite: {
      'serviceradar-netflow-clickhouse-writer.service': ['/var/lib/serviceradar-netflow/clickhouse-writer'],
      'serviceradar-netflow-parquet-writer.service': ['/var/lib/serviceradar-netflow/parquet-writer', '/var/lib/serviceradar-netflow/iceberg', '/var/lib/serviceradar-netflow/iceberg-rollups'],
    },
  },
  'serviceradar-netflow-core': {
    arch: { deb: 'amd64', rpm: 'x86_64' }, user: 'serviceradar-netflow-core', native: true, bindsLowPort: false,
    units: ['serviceradar-netflow-core.service'],
    conffiles: ['/etc/serviceradar/netflow-core.json'],
    readWrite: { 'serviceradar-netflow-core.service': ['/var/lib/serviceradar-netflow/core'] },
  },
};

function debFiles(deb: string): Map<string, string> {
  // "-rw-r--r-- root/root 123 2026-01-01 00:00 ./usr/bin/x -> target"
  const out = new Map<string, string>();
  for (const line of check('dpkg-deb', ['-c', deb]).split('\n').filter(Boolean)) {
    const m = /^(\S+)\s+\S+\s+\d+\s+\S+\s+\S+\s+\.(\/\S*?)\/?(?: -> .*)?$/.exec(line);
    if (m && m[2] !== '/') out.set(m[2]!, m[1]!);
  }
  return out;
}

const field = (deb: string, name: string) => check('dpkg-deb', ['-f', deb, name]).trim();

function extract(deb: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'srnf-deb-'));
  check('dpkg-deb', ['-x', deb, dir]);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

for (const name of NAMES) {
  const e = EXPECT[name];

  test(`${name}: .deb fields, files and configuration files`, () => {
    const deb = pkgs.deb(name);
    assert.equal(field(deb, 'Package'), name);
    assert.equal(field(deb, 'Version'), `${pkgs.version}-1`);
    assert.equal(field(deb, 'Architecture'), e.arch.deb);
    const depends = field(deb, 'Depends').split(',').map((d) => d.trim());
    assert.ok(depends.includes('nodejs (>= 20)'), depends.join(', '));
    assert.ok(depends.includes('adduser'));
    // Only the C and C++ runtimes of DuckDB's addon beyond those; nothing of a database server.
    const rest = depends.filter((d) => d !== 'nodejs (>= 20)' && d !== 'adduser').map((d) => d.split(' ')[0]);
    assert.deepEqual(rest.sort(), e.native ? ['libc6', 'libgcc-s1', 'libstdc++6'] : []);

    const files = debFiles(deb);
    const bin = `/usr/lib/${name}/dist/bin/${name}.mjs`;
    assert.ok(files.get(bin)?.startsWith('-rwxr-xr-x'), `${bin} is executable`);
    assert.ok(files.get(`/usr/bin/${name}`)?.startsWith('l'), `/usr/bin/${name} is a symlink`);
    for (const f of [`/usr/lib/${name}/proto/health.proto`, `/usr/lib/${name}/proto/monitoring.proto`, `/usr/share/man/man1/${name}.1.gz`,
      `/usr/share/doc/${name}/copyright`, `/usr/share/doc/${name}/changelog.Debian.gz`, `/usr/share/doc/${name}/README`, `/usr/share/doc/${name}/third-party-licenses.txt`]) {
      assert.ok(files.has(f), `${name} has ${f}`);
    }
    for (const u of e.units) assert.equal(files.get(`/lib/systemd/system/${u}`), '-rw-r--r--', u);
    const etc = [...files.entries()].filter(([p, mode]) => p.startsWith('/etc/') && mode.startsWith('-')).map(([p]) => p).sort();
    assert.deepEqual(etc, e.conffiles);
    const conffiles = run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xO ./conffiles`]).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(conffiles, e.conffiles, 'every file in /etc is a conffile');
    // No data folder is shipped: postinst makes them for the service user.
    assert.ok(![...files.keys()].some((p) => p.startsWith('/var/')), 'no /var in the archive');

    const native = [...files.keys()].filter((p) => /\.(so|node)$/.test(p)).sort();
    assert.deepEqual(native, e.native
      ? [`/usr/lib/${name}/node_modules/@duckdb/node-bindings-linux-x64/duckdb.node`, `/usr/lib/${name}/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so`]
      : []);
    assert.ok(![...files.keys()].some((p) => /chdb/i.test(p)), 'chDB is not shipped');
    assert.equal(files.get(`/usr/lib/${name}/dist/package.json`), '-rw-r--r--', 'the bundle folder is ES modules');
    if (name === 'serviceradar-netflow-checker') {
      assert.ok(![...files.keys()].some((p) => p.includes('node_modules')), 'the checker is one bundle');
      assert.ok(files.has(`/usr/lib/${name}/dist/bin/udp-worker.js`), 'the receive thread is shipped beside the bundle');
    }
    if (name === 'serviceradar-netflow-core') {
      assert.ok(files.has('/usr/share/serviceradar-netflow-core/ui/index.html'), 'the UI is in the core package');
      assert.ok(files.get('/usr/lib/serviceradar-netflow-core/core-extension/ui/out')?.startsWith('l'), 'the default ui_dir links to it');
    }
  });

  test(`${name}: the bundle carries what the package runs, and no more`, () => {
    const x = extract(pkgs.deb(name));
    try {
      const bundle = readFileSync(join(x.dir, `usr/lib/${name}/dist/bin/${name}.mjs`), 'utf8');
      assert.ok(bundle.startsWith('#!/usr/bin/node\n'));
      // esbuild marks each bundled module with a "// node_modules/<pkg>/..." comment.
      const has = (pkg: string) => bundle.includes(`// node_modules/${pkg}/`);
      assert.ok(has('nats') && has('protobufjs') && has('convict') && has('pino'));
      if (name === 'serviceradar-netflow-checker') {
        assert.ok(has('@grpc/grpc-js'));
        for (const pkg of ['@clickhouse/client', '@duckdb/node-api', 'chdb', 'avsc']) assert.ok(!has(pkg), `checker bundle must not carry ${pkg}`);
        assert.ok(!bundle.includes("from '@duckdb") && !bundle.includes('from "@duckdb'), 'no DuckDB import');
      } else {
        assert.ok(has('@clickhouse/client'));
        assert.ok(bundle.includes('from "@duckdb/node-api"'), 'DuckDB stays an import of the vendored package');
        assert.match(bundle, /the packages do not include chDB/);
      }
      const manifest = JSON.parse(readFileSync(join(x.dir, `usr/share/doc/${name}/bundle-manifest.json`), 'utf8')) as { vendored: { name: string }[] };
      assert.deepEqual(manifest.vendored.map((v) => v.name), e.native ? ['@duckdb/node-api', '@duckdb/node-bindings', '@duckdb/node-bindings-linux-x64', 'detect-libc'] : []);
      // The CLI lists exactly this package's commands.
      const help = run('node', [join(x.dir, `usr/lib/${name}/dist/bin/${name}.mjs`), '--help']);
      assert.equal(help.code, 0, help.stderr);
      const commands = [...help.stdout.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]);
      assert.deepEqual(commands, { 'serviceradar-netflow-checker': ['checker', 'decode'], 'serviceradar-netflow-consumers': ['clickhouse-writer', 'parquet-writer'], 'serviceradar-netflow-core': ['core'] }[name]);
    } finally {
      x.remove();
    }
  });

  test(`${name}: units run as the package's user with systemd's hardening`, () => {
    const x = extract(pkgs.deb(name));
    try {
      for (const unitName of e.units) {
        const unit = parseUnit(readFileSync(join(x.dir, 'lib/systemd/system', unitName), 'utf8'));
        const s = (k: string) => unit.service.get(k) ?? [];
        const one = (k: string) => s(k).at(-1);
        assert.equal(one('User'), e.user, unitName);
        assert.equal(one('Group'), e.user, unitName);
        for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['PrivateDevices', 'yes'],
          ['ProtectKernelTunables', 'yes'], ['ProtectKernelModules', 'yes'], ['ProtectControlGroups', 'yes'], ['RestrictSUIDSGID', 'yes'], ['SystemCallFilter', '@system-service']] as const) {
          assert.equal(one(k), v, `${unitName} ${k}`);
        }
        assert.equal(one('CapabilityBoundingSet'), e.bindsLowPort ? 'CAP_NET_BIND_SERVICE' : '', `${unitName} CapabilityBoundingSet`);
        assert.equal(one('AmbientCapabilities'), e.bindsLowPort ? 'CAP_NET_BIND_SERVICE' : '', `${unitName} AmbientCapabilities`);
        const rw = s('ReadWritePaths').flatMap((v) => v.split(/\s+/)).filter(Boolean);
        assert.deepEqual(rw, e.readWrite[unitName], `${unitName} ReadWritePaths`);
        const exec = one('ExecStart')!.split(/\s+/);
        assert.equal(exec[0], `/usr/bin/${name}`);
        assert.ok(e.conffiles.includes(exec[exec.indexOf('--config') + 1]!), `${unitName} reads a conffile: ${exec.join(' ')}`);
        assert.deepEqual(unit.install.get('WantedBy'), ['multi-user.target']);
        const exposure = check('systemd-analyze', ['security', '--offline=yes', `--root=${x.dir}`, unitName]).match(/Overall exposure level for \S+: ([\d.]+)/);
        assert.ok(exposure && Number(exposure[1]) <= 2.0, `${unitName} exposure ${exposure?.[1]} (systemd-analyze security; 0 = locked down, 10 = none)`);
      }
    } finally {
      x.remove();
    }
  });

  test(`${name}: .rpm requirements, files and configuration files match the .deb`, () => {
    const rpm = pkgs.rpm(name);
    assert.equal(check('rpm', ['-qp', '--qf', '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}', rpm]).trim(), `${name} ${pkgs.version}-1 ${e.arch.rpm}`);
    const requires = check('rpm', ['-qpR', rpm]).split('\n').map((l) => l.trim()).filter(Boolean);
    for (const r of ['nodejs >= 1:20', '/usr/bin/node', 'shadow-utils', 'systemd']) assert.ok(requires.includes(r), `${name} requires ${r}: ${requires.join(', ')}`);
    assert.ok(!requires.some((r) => /duckdb|chdb|clickhouse/i.test(r)), `no requirement on a database: ${requires.join(', ')}`);
    assert.equal(requires.some((r) => r.startsWith('libstdc++.so.6')), e.native);
    const provides = check('rpm', ['-qp', '--provides', rpm]);
    assert.doesNotMatch(provides, /libduckdb/, 'the private library is not offered to the system');

    const rpmFiles = new Set(check('rpm', ['-qpl', rpm]).split('\n').filter(Boolean));
    const owned = (p: string) => [`/usr/lib/${name}`, `/usr/share/doc/${name}`, `/usr/share/${name}`, '/etc/serviceradar'].some((d) => p === d || p.startsWith(`${d}/`));
    // Files, and the folders the package owns; the .deb's changelog and lintian overrides are Debian's own.
    const debPaths = new Set([...debFiles(pkgs.deb(name)).entries()]
      .filter(([p, mode]) => (!mode.startsWith('d') || owned(p)) && !p.startsWith('/usr/share/lintian') && !p.endsWith('/changelog.Debian.gz'))
      .map(([p]) => p.replace(/^\/lib\/systemd\//, '/usr/lib/systemd/')));
    // The same payload; rpm also owns the data folders (dpkg's postinst makes them).
    assert.deepEqual([...rpmFiles].filter((p) => !debPaths.has(p) && !p.startsWith('/var/lib/serviceradar-netflow')), []);
    assert.deepEqual([...debPaths].filter((p) => !rpmFiles.has(p)), []);
    assert.ok(!rpmFiles.has('/etc') && !rpmFiles.has('/usr/bin') && !rpmFiles.has('/var/lib'), 'system folders are not claimed');

    assert.deepEqual(check('rpm', ['-qpc', rpm]).split('\n').filter(Boolean).sort(), e.conffiles);
    const modes = check('rpm', ['-qp', '--qf', '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]', rpm]).split('\n');
    for (const c of e.conffiles) assert.ok(modes.includes(`-rw-r----- root ${e.user} cn ${c}`), `${c}: ${modes.filter((m) => m.endsWith(c)).join('')}`);
    const scripts = check('rpm', ['-qp', '--scripts', rpm]);
    assert.match(scripts, new RegExp(`useradd -r -g ${e.user} -G serviceradar-netflow`));
    assert.match(scripts, new RegExp(`systemctl enable ${e.units.join(' ')}`));
    assert.doesNotMatch(scripts.split('postinstall scriptlet')[1]!.split('preuninstall')[0]!, /systemctl (start|restart)/, 'installation does not start the units');
  });
}

test('lintian passes on every .deb, and every override says why', () => {
  const debs = NAMES.map((n) => pkgs.deb(n));
  const r = run('lintian', ['--pedantic', '--display-info', '--fail-on', 'error,warning,info,pedantic', ...debs], { timeoutMs: 900_000 });
  const tags = r.stdout.split('\n').filter((l) => /^[EWIPX]: /.test(l));
  assert.deepEqual(tags, [], r.stdout + r.stderr);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const name of NAMES) {
    const lines = readFileSync(join('packaging', name.replace('serviceradar-netflow-', ''), 'lintian-overrides'), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line === '' || line.startsWith('#')) return;
      let j = i - 1;
      while (j >= 0 && !lines[j]!.startsWith('#') && lines[j] !== '') j--;
      assert.ok(j >= 0 && lines[j]!.startsWith('#'), `${name} override "${line}" has no comment above it`);
    });
  }
});

test('maintainer scripts are valid POSIX shell', () => {
  for (const name of NAMES) {
    const x = extract(pkgs.deb(name));
    try {
      check('sh', ['-c', `dpkg-deb -e '${pkgs.deb(name)}' '${x.dir}/DEBIAN'`]);
      for (const s of ['postinst', 'prerm', 'postrm']) check('sh', ['-n', join(x.dir, 'DEBIAN', s)]);
    } finally {
      x.remove();
    }
  }
});
