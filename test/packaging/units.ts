// A systemd unit file as key -> values per section (a key may repeat; an
// empty assignment is kept, as systemd reads it: a reset).
export interface Unit { unit: Map<string, string[]>; service: Map<string, string[]>; install: Map<string, string[]> }

export function parseUnit(text: string): Unit {
  const sections: Record<string, Map<string, string[]>> = { Unit: new Map(), Service: new Map(), Install: new Map() };
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = sections[section[1]!];
      if (!current) throw new Error(`unexpected section [${section[1]}]`);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return { unit: sections.Unit!, service: sections.Service!, install: sections.Install! };
}
