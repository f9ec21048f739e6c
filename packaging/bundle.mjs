// Bundles each package's application with esbuild, straight from the
// TypeScript sources, into OUT/<package>/ laid out as it is installed under
// /usr/lib/<package>/:
//
//   dist/bin/<package>.mjs   the whole application in one ES module
//   dist/bin/<worker>.js     each worker thread's module, bundled on its own: the
//                            application starts it by new URL('./<worker>.js', import.meta.url)
//   proto/*.proto            read at run time by @grpc/proto-loader: common/grpc.ts
//                            finds them at ../../proto/ from the module
//   node_modules/...         native packages esbuild cannot bundle (DuckDB), vendored
//
// Usage: node packaging/bundle.mjs OUT
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out) { console.error('usage: node packaging/bundle.mjs OUT'); process.exit(2); }

// Native packages (a .node addon and its shared library) stay real node_modules.
// chDB is not shipped at all: see the stub below and packaging/README.md.
const NATIVE = ['@duckdb/node-api', '@duckdb/node-bindings'];

// `provided`: folders the code opens relative to itself that the package
// supplies besides the bundle (the protos, below; the UI, linked by build.sh).
const APPS = [
  // The edge host: no database engine may be pulled in, not even by accident.
  { pkg: 'serviceradar-netflow-checker', entry: 'packaging/entries/checker.ts', external: [], workers: ['checker/udp-worker.ts'], provided: ['../../proto/'], forbidden: /node_modules\/(chdb|@chdb|@duckdb|@clickhouse)\// },
  { pkg: 'serviceradar-netflow-consumers', entry: 'packaging/entries/consumers.ts', external: NATIVE, provided: ['../../proto/'] },
  { pkg: 'serviceradar-netflow-core', entry: 'packaging/entries/core.ts', external: NATIVE, provided: ['../../proto/', '../../core-extension/ui/out/'] },
];

const PROTOS = ['health.proto', 'monitoring.proto'];

// The packaged services are separate processes, and chDB binds its data folder
// to one process, so the writer and the core could never share an embedded
// database; the packages talk to a ClickHouse server (clickhouse_url) and leave
// out chDB's 540 MB library. An empty clickhouse_url gets this message.
const chdbStub = {
  name: 'chdb-stub',
  setup(b) {
    b.onResolve({ filter: /^chdb$/ }, () => ({ path: 'chdb', namespace: 'chdb-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'chdb-stub' }, () => ({
      loader: 'js',
      contents: `export class Session { constructor() { throw new Error('clickhouse_url is empty, which means embedded chDB, and the packages do not include chDB (each packaged service is its own process; chDB binds its data folder to one). Set clickhouse_url to your ClickHouse server, e.g. "http://localhost:8123".'); } }`,
    }));
  },
};

// grpc-js and other CommonJS dependencies call require(); an ES module bundle
// needs one. The version check gives a clear message on an old Node.js.
const banner = [
  '#!/usr/bin/node',
  "import { createRequire as __srnfCreateRequire } from 'node:module';",
  'const require = __srnfCreateRequire(import.meta.url);',
  "if (Number(process.versions.node.split('.')[0]) < 20) { console.error(`serviceradar-netflow needs Node.js 20 or newer; this is ${process.version}`); process.exit(1); }",
].join('\n');

/** The package and its dependencies, as installed in node_modules (optional ones only when present). */
function closure(names, seen = new Set()) {
  for (const name of names) {
    if (seen.has(name)) continue;
    const dir = join(root, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    seen.add(name);
    const m = meta(name);
    closure([...Object.keys(m.dependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {})], seen);
  }
  return [...seen].sort();
}

function meta(name) {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
}

function describe(name) {
  const m = meta(name);
  return { name, version: m.version, license: typeof m.license === 'string' ? m.license : m.license?.type ?? 'see its license file' };
}

const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;

/** Every bundled or vendored npm package with its license text, for the package's documentation. */
function notices(pkg, names) {
  const parts = [`Third-party software in ${pkg}: npm packages bundled into dist/bin/${pkg}.mjs`, 'or shipped in node_modules/, each under its own license, reproduced here.', ''];
  for (const name of names) {
    const d = describe(name);
    const dir = join(root, 'node_modules', name);
    const file = readdirSync(dir).find((f) => LICENSE_FILE.test(f));
    parts.push('='.repeat(78), `${d.name} ${d.version} (${d.license})`, '='.repeat(78));
    parts.push(file ? readFileSync(join(dir, file), 'utf8').trimEnd() : `No license file in the npm package; its package.json declares ${d.license}.`, '');
  }
  return parts.join('\n') + '\n';
}

for (const app of APPS) {
  const dest = join(out, app.pkg);
  rmSync(dest, { recursive: true, force: true });
  const outfile = join(dest, 'dist', 'bin', `${app.pkg}.mjs`);
  const result = await build({
    entryPoints: [join(root, app.entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: app.external,
    plugins: [chdbStub],
    banner: { js: banner },
    legalComments: 'none',
    minify: false,
    metafile: true,
    logLevel: 'warning',
  });
  for (const worker of app.workers ?? []) {
    await build({
      entryPoints: [join(root, worker)],
      outfile: join(dest, 'dist', 'bin', basename(worker).replace(/\.ts$/, '.js')),
      bundle: true, platform: 'node', target: 'node20', format: 'esm', external: app.external,
      banner: { js: banner.split('\n').slice(1).join('\n') }, legalComments: 'none', logLevel: 'warning',
    });
  }
  // The workers' .js files are ES modules too.
  writeFileSync(join(dest, 'dist', 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n');
  // Every file the code finds relative to itself must be in the package, and
  // it may find one only in a form this check can read.
  const code = readFileSync(outfile, 'utf8');
  const relativeUrls = [...code.matchAll(/new URL\(["'](\.\.?\/[^"']*)["'],\s*import\.meta\.url\)/g)];
  const uses = code.split('import.meta.url').length - 1 - 1; // minus the banner's createRequire
  if (uses !== relativeUrls.length) throw new Error(`${app.pkg}: import.meta.url is used ${uses} times, ${relativeUrls.length} of them as new URL("./relative", import.meta.url); the package cannot tell what else the code reads from beside itself`);
  for (const m of relativeUrls) {
    if (existsSync(join(dirname(outfile), m[1])) || app.provided.includes(m[1])) continue;
    throw new Error(`${app.pkg}: the code opens ${m[1]} relative to itself and the package does not ship it: add it to APPS in packaging/bundle.mjs (workers or provided)`);
  }

  const inputs = Object.keys(result.metafile.inputs);
  const bad = app.forbidden ? inputs.filter((p) => app.forbidden.test(p)) : [];
  if (bad.length) throw new Error(`${app.pkg}: the bundle pulls in ${bad.slice(0, 5).join(', ')}`);

  mkdirSync(join(dest, 'proto'), { recursive: true });
  for (const p of PROTOS) cpSync(join(root, 'proto', p), join(dest, 'proto', p));

  const vendored = closure(app.external);
  for (const name of vendored) cpSync(join(root, 'node_modules', name), join(dest, 'node_modules', name), { recursive: true, dereference: true });

  // The list of what went in, for the package's documentation and the tests.
  const packages = [...new Set(inputs.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1]).filter(Boolean))].sort();
  writeFileSync(join(dest, 'bundle-manifest.json'), JSON.stringify({ entry: relative(root, join(root, app.entry)), bundled: packages.map(describe), vendored: vendored.map(describe) }, null, 2) + '\n');
  writeFileSync(join(dest, 'third-party-licenses.txt'), notices(app.pkg, [...new Set([...packages, ...vendored])].sort()));
  console.log(`bundle: ${app.pkg}: ${packages.length} packages bundled${vendored.length ? `, vendored ${vendored.join(' ')}` : ''}`);
}
