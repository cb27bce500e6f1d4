/**
 * Nilus v1 spellings. In a mapping that schema/manifest.schema.json marks `x-kebab-aliases`
 * (spec.source.options, spec.sink.options) the kebab-case spelling of a snake_case key
 * (`dest-table`, `batch.max-rows`) is an alias of that key: it is renamed to the snake_case key
 * before the schema and the rules run, so every rule applies alike, and problems found on it name
 * the key as written. Both spellings of one key at once are refused; a kebab key with no
 * snake_case counterpart is left alone, for the schema to refuse as any unknown key.
 */
import type { ConfigProblem } from '../kernel/errors';
import { loadSchema } from './schema-check';
import { dotted, problemAt, type PathSeg, type YamlSource } from './yaml-source';

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  'x-kebab-aliases'?: boolean;
}

/** A mapping whose snake_case keys take a kebab-case alias, and those keys. */
export interface AliasBlock {
  readonly path: readonly string[];
  readonly keys: readonly string[];
}

/** The kebab-case spelling of a key: every `_` a `-`. */
export const kebab = (key: string): string => key.replace(/_/g, '-');

/** Every mapping of the schema marked x-kebab-aliases, with its keys that have a `_`. */
export function aliasBlocks(schema: SchemaNode, path: readonly string[] = [], out: AliasBlock[] = []): AliasBlock[] {
  for (const [key, s] of Object.entries(schema.properties ?? {})) {
    const p = [...path, key];
    if (s['x-kebab-aliases'] === true) out.push({ path: p, keys: Object.keys(s.properties ?? {}).filter((k) => k.includes('_')) });
    aliasBlocks(s, p, out);
  }
  return out;
}

let blocks: AliasBlock[] | undefined;
const manifestBlocks = (): AliasBlock[] => (blocks ??= aliasBlocks(loadSchema('manifest') as SchemaNode));

/** One alias in use: the mapping, the snake_case key and the key as written. */
interface Use {
  readonly block: readonly string[];
  readonly snake: string;
  readonly written: string;
}

export interface Unaliased {
  /** The source with every alias renamed; it locates and names paths as they were written. */
  readonly src: YamlSource;
  /** Both spellings of one key. */
  readonly problems: ConfigProblem[];
  /** One per alias used, at the key as written. */
  readonly notes: ConfigProblem[];
  /** A dotted path of the renamed document (as load.ts builds them) as the user wrote it. */
  asWritten(path: string): string;
}

const isMap = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The document with its kebab-case aliases renamed to the snake_case keys. */
export function unalias(src: YamlSource): Unaliased {
  const uses: Use[] = [];
  const problems: ConfigProblem[] = [];
  const notes: ConfigProblem[] = [];
  let value = src.value;
  for (const b of manifestBlocks()) {
    const block = b.path.reduce<unknown>((v, k) => (isMap(v) ? v[k] : undefined), value);
    if (!isMap(block)) continue;
    const snakeOf = new Map(b.keys.map((k) => [kebab(k), k]));
    if (!Object.keys(block).some((k) => snakeOf.has(k))) continue;
    // Entries, not assignment: a key such as __proto__ must stay a key for the schema to refuse.
    const renamed: [string, unknown][] = [];
    for (const [k, v] of Object.entries(block)) {
      const snake = snakeOf.get(k);
      if (snake === undefined) renamed.push([k, v]);
      else if (Object.hasOwn(block, snake)) {
        problems.push(problemAt(src, [...b.path, k], `${dotted([...b.path, snake])} and ${dotted([...b.path, k])} are one option (${k} is the kebab-case spelling of ${snake}): keep one`, true));
      } else {
        renamed.push([snake, v]);
        uses.push({ block: b.path, snake, written: k });
        notes.push(problemAt(src, [...b.path, k], `${k} is read as ${snake} (the Nilus v1 kebab-case spelling, accepted as an alias)`, true));
      }
    }
    value = withAt(value, b.path, Object.fromEntries(renamed));
  }
  // A key written twice leaves only its snake_case spelling in the document, with no alias in use.
  if (value === src.value) return { src, problems, notes, asWritten: (p) => p };
  const written = (path: readonly PathSeg[]): readonly PathSeg[] => {
    const u = uses.find((x) => path.length > x.block.length && x.block.every((k, i) => path[i] === k) && path[x.block.length] === x.snake);
    return u ? [...u.block, u.written, ...path.slice(u.block.length + 1)] : path;
  };
  const asWritten = (path: string): string => {
    for (const u of uses) {
      const snake = dotted([...u.block, u.snake]);
      // An option's value is a scalar or a list: what follows its path can only be an index.
      if (path === snake || path.startsWith(`${snake}[`)) return dotted([...u.block, u.written]) + path.slice(snake.length);
    }
    return path;
  };
  return { src: { ...src, value, locate: (path, key) => src.locate(written(path), key), written }, problems, notes, asWritten };
}

/** `root` with the value at `path` replaced, copying the mappings on the way. */
function withAt(root: unknown, path: readonly string[], v: unknown): unknown {
  if (!path.length) return v;
  const m = root as Record<string, unknown>;
  return { ...m, [path[0]]: withAt(m[path[0]], path.slice(1), v) };
}
