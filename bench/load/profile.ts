// Where a service's time went: the self time of a V8 .cpuprofile, by function,
// heaviest first. Native work (chDB, DuckDB, zstd) shows as the JavaScript
// function that called into it, or as (program) when it ran off the main thread.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export function topSelfTime(dir: string, n = 15): Array<{ fn: string; percent: number }> {
  const self = new Map<string, number>();
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((x) => [x.id, x]));
    p.samples.forEach((id, i) => {
      const f = byId.get(id)!.callFrame;
      const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
      const key = `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
      const dt = p.timeDeltas[i] ?? 0;
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    });
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, t]) => ({ fn, percent: (100 * t) / total }));
}
