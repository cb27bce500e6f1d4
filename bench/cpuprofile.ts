/**
 * Self time per function from a V8 .cpuprofile (node --cpu-prof): each sample is charged to the
 * node it landed in; nodes are grouped by function name + file + line.
 * Usage: tsx bench/cpuprofile.ts <file.cpuprofile> [top N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
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
}

export function selfTimes(p: Profile): SelfTime[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const total = new Map<string, number>();
  let sum = 0;
  p.samples.forEach((id, i) => {
    // timeDeltas[i] is the time since the previous sample: charge it to this sample's node
    const dt = Math.max(0, p.timeDeltas[i] ?? 0);
    const n = byId.get(id);
    if (!n) return;
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/dist\//, 'dist/');
    const key = `${f.functionName || '(anonymous)'}\u0000${file ? `${file}:${f.lineNumber + 1}` : '(native)'}`;
    total.set(key, (total.get(key) ?? 0) + dt);
    sum += dt;
  });
  return [...total]
    .map(([k, us]) => {
      const [fn, where] = k.split('\u0000') as [string, string];
      return { fn, where, ms: us / 1000, pct: sum ? (100 * us) / sum : 0 };
    })
    .sort((a, b) => b.ms - a.ms);
}

export function renderTop(rows: SelfTime[], top: number): string {
  const lines = ['| self ms | % | function | where |', '| ---: | ---: | --- | --- |'];
  for (const r of rows.slice(0, top)) lines.push(`| ${r.ms.toFixed(0)} | ${r.pct.toFixed(1)} | ${r.fn} | ${r.where} |`);
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
