/**
 * docs/architecture.md and .dependency-cruiser.cjs say the same: every rule the checker enforces is
 * named in the map, every rule the map names exists, and every folder of src/ has its row.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rules = (require(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: { name: string }[] }).forbidden.map((r) => r.name);

describe('docs/architecture.md against the dependency rules', () => {
  it('names every rule the checker enforces', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(rules.filter((r) => !doc.includes(`\`${r}\``))).toEqual([]);
  });

  it('names no rule the checker does not have', () => {
    const named = [...doc.matchAll(/\(`([a-z]+(?:-[a-z0-9]+)+)`\)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !rules.includes(n))).toEqual([]);
  });

  it('has a row for every folder of src/', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => !doc.includes(`| \`${f}/\` |`))).toEqual([]);
  });
});

describe('src/ file sizes', () => {
  /** The one compiled hot path docs/architecture.md names ("File size"). */
  const EXCEPTIONS = ['decode/copy-ready.ts'];
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));

  it('keeps every file of src/ at 300 lines or fewer, but the named exception', () => {
    const src = join(ROOT, 'src');
    const all = files(src);
    expect(all.length).toBeGreaterThan(100);
    const long = all
      .map((f) => ({ file: f.slice(src.length + 1), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 300 && !EXCEPTIONS.includes(f.file));
    expect(long).toEqual([]);
    for (const e of EXCEPTIONS) expect(doc).toContain(`\`${e}\``);
  });
});
