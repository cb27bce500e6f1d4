/**
 * What a PromQL expression references: metric names, the label names of each selector's matchers
 * and of its grouping clauses. Enough for the expressions of deploy/prometheus/nilus-pg.rules.yml
 * and the Grafana dashboard (no subqueries with nested brackets, no `@` modifiers), not a parser.
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

export interface Refs {
  /** Metric names as written (a histogram's _bucket/_sum/_count included). */
  metrics: string[];
  /** Label names of each selector's matchers. */
  matchers: { metric: string; labels: string[] }[];
  /** Label names in by/without/on/ignoring/group_left/group_right clauses. */
  grouping: string[];
}

export function promqlRefs(expr: string): Refs {
  const matchers: Refs['matchers'] = [];
  const grouping: string[] = [];
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  s = s.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_all, name: string | undefined, body: string) => {
    const labels = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!);
    matchers.push({ metric: name ?? '', labels });
    return ` ${name ?? ''} `;
  });
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_all, _kw: string, body: string) => {
    grouping.push(...body.split(',').map((l) => l.trim()).filter(Boolean));
    return ' ';
  });
  s = s.replace(/\[[^\]]*\]/g, ' ').replace(/\boffset\s+[0-9a-z]+/g, ' ');
  const metrics: string[] = [];
  for (const m of s.matchAll(/(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[1]!.toLowerCase())) metrics.push(m[1]!);
  }
  return { metrics, matchers, grouping };
}

