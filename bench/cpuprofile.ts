/**
 * Self time per function from a V8 .cpuprofile (node --cpu-prof): each sample is charged to the
 * node it landed in; nodes are grouped by function name + file + line.
 * Usage: tsx bench/cpuprofile.ts <file.cpuprofile> [top N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  fn: string;
  where: string;
  ms: number;
  pct: number;
  /** The nearest caller outside Node's own modules, heaviest first (a Buffer copy says little alone). */
  callers: { name: string; ms: number }[];
}

type Frame = ProfileNode['callFrame'];

function where(f: Frame): string {
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/dist\//, 'dist/');
  return file ? `${file}:${f.lineNumber + 1}` : '(native)';
}
const label = (f: Frame): string => `${f.functionName || '(anonymous)'} ${where(f)}`;

export function selfTimes(p: Profile): SelfTime[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const total = new Map<string, { us: number; callers: Map<string, number> }>();
  let sum = 0;
  p.samples.forEach((id, i) => {
    // timeDeltas[i] is the time since the previous sample: charge it to this sample's node
    const dt = Math.max(0, p.timeDeltas[i] ?? 0);
    const n = byId.get(id);
    if (!n) return;
    const key = `${n.callFrame.functionName || '(anonymous)'}\u0000${where(n.callFrame)}`;
    let t = total.get(key);
    if (!t) total.set(key, (t = { us: 0, callers: new Map() }));
    t.us += dt;
    // Skip Node's own frames (Buffer.concat, toString…) up to the code that asked for them.
    let up = parent.get(id);
    while (up && (up.callFrame.url === '' || up.callFrame.url.startsWith('node:')) && parent.has(up.id)) up = parent.get(up.id);
    const caller = up ? label(up.callFrame) : '(root)';
    t.callers.set(caller, (t.callers.get(caller) ?? 0) + dt);
    sum += dt;
  });
  return [...total]
    .map(([k, t]) => {
      const [fn, at] = k.split('\u0000') as [string, string];
      const callers = [...t.callers].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([name, us]) => ({ name, ms: us / 1000 }));
      return { fn, where: at, ms: t.us / 1000, pct: sum ? (100 * t.us) / sum : 0, callers };
    })
    .sort((a, b) => b.ms - a.ms);
}

export function renderTop(rows: SelfTime[], top: number): string {
  const lines = ['| self ms | % | function | where | top callers |', '| ---: | ---: | --- | --- | --- |'];
  for (const r of rows.slice(0, top)) {
    const callers = r.callers.map((c) => `${c.name} (${c.ms.toFixed(0)})`).join('; ');
    lines.push(`| ${r.ms.toFixed(0)} | ${r.pct.toFixed(1)} | ${r.fn} | ${r.where} | ${callers} |`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx bench/cpuprofile.ts <file.cpuprofile> [top N]');
    process.exit(2);
  }
  console.log(renderTop(selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile), Number(n ?? 30)));
}
