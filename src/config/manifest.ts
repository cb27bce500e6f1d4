/**
 * Manifest text → a validated raw manifest. Structure comes from schema/manifest.schema.json
 * (ajv); the rules a schema cannot express are in ./manifest-rules.ts. Every problem is collected
 * and thrown together as one ConfigError, each with its path and YAML line:column.
 */
import { ConfigError, type ConfigProblem } from '../kernel/errors';
import { schemaProblems } from './schema-check';
import { parseYaml, type YamlSource } from './yaml-source';
import { semanticProblems } from './manifest-rules';
import { unalias } from './aliases';
import type { RawManifest } from './raw-manifest';

export type { RawManifest } from './raw-manifest';

export interface ParsedManifest {
  readonly manifest: RawManifest;
  /** Not errors, but worth telling the user (e.g. a mixed-case dest_table). */
  readonly warnings: readonly ConfigProblem[];
  /** Neither errors nor warnings: a kebab-case alias read as its snake_case key (./aliases.ts). */
  readonly notes: readonly ConfigProblem[];
  /** The source, as read after the aliases were renamed; paths come out as written. */
  readonly source: YamlSource;
  /** A dotted path of the manifest as the user wrote it (an aliased key keeps its spelling). */
  asWritten(path: string): string;
}

/** Parse and validate a manifest without touching the network or the connections file. */
export function parseManifest(text: string, file?: string): ParsedManifest {
  const parsed = parseYaml(text, file);
  if (parsed.problems.length) throw new ConfigError(parsed.problems);
  if (parsed.value === undefined || parsed.value === null) throw new ConfigError([{ path: '(document)', message: 'the manifest is empty' }]);
  // Aliases become their snake_case keys first: the schema and the rules see one spelling.
  const { src, problems: twice, notes, asWritten } = unalias(parsed);
  const problems = [...twice, ...schemaProblems('manifest', src)];
  // Semantic rules read fields the schema vouches for; with structural problems they could misfire.
  const m = src.value as RawManifest;
  const warnings: ConfigProblem[] = [];
  // Semantic rules run even when the schema found problems (all problems at once), but only
  // over a document whose shape they can read; a path the schema already flagged is not flagged twice.
  if (readable(m)) {
    const semantic: ConfigProblem[] = [];
    semanticProblems(m, src, semantic, warnings);
    const flagged = new Set(problems.map((p) => p.path));
    problems.push(...semantic.filter((p) => !flagged.has(p.path)));
  }
  if (problems.length) throw new ConfigError(problems);
  return { manifest: m, warnings, notes, source: src, asWritten };
}

/** Whether the fields the semantic rules read have the types they expect. */
function readable(m: unknown): m is RawManifest {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(m) || !isObj(m.spec)) return false;
  const spec = m.spec as Partial<RawManifest['spec']>;
  const o = spec.sink?.options;
  if (!isObj(spec.source) || !isObj(spec.sink) || !isObj(o)) return false;
  if (typeof spec.source.address !== 'string' || typeof o.dest_table !== 'string') return false;
  const cdc: unknown = spec.source.cdc;
  const opts: unknown = spec.source.options;
  if ((cdc !== undefined && !isObj(cdc)) || (opts !== undefined && !isObj(opts))) return false;
  const strings = [o['errors.deadletter.table'], o['errors.deadletter.topic'], isObj(opts) ? opts.source_table : undefined, isObj(opts) ? opts.incremental_key : undefined];
  if (isObj(opts) && [opts.interval_start, opts.interval_end].some((x) => x !== undefined && typeof x !== 'string' && typeof x !== 'number')) return false;
  const lists = isObj(cdc) ? Object.values(cdc) : [];
  return strings.every((x) => x === undefined || typeof x === 'string') && lists.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean');
}
