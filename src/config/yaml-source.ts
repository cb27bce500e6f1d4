/**
 * YAML parsing that remembers where every node came from, so a problem found later (by the
 * schema or a semantic rule) can name its line and column.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { ConfigProblem } from '../kernel/errors';

export type PathSeg = string | number;

export interface YamlSource {
  readonly file?: string;
  /** Plain JS value of the document (undefined when empty). */
  readonly value: unknown;
  /** Syntax problems; when non-empty, `value` should not be trusted. */
  readonly problems: ConfigProblem[];
  /** Line/column of the value at `path` (or of its key when `key` is true), nearest ancestor if absent. */
  locate(path: readonly PathSeg[], key?: boolean): { line: number; col: number } | undefined;
  /** `path` as the user wrote it, where a key was read under another name (./aliases.ts). */
  written?(path: readonly PathSeg[]): readonly PathSeg[];
}

export function dotted(path: readonly PathSeg[]): string {
  return path.length === 0 ? '(document)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

export function parseYaml(text: string, file?: string): YamlSource {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lc.linePos(e.pos[0]);
    problems.push({ path: '(yaml)', message: e.message.split('\n')[0], line: pos.line, col: pos.col });
  }
  const value = problems.length ? undefined : doc.toJS({ maxAliasCount: 100 });
  const at = (offset: number | undefined): { line: number; col: number } | undefined => {
    if (offset === undefined) return undefined;
    const p = lc.linePos(offset);
    return { line: p.line, col: p.col };
  };
  return {
    file,
    value,
    problems,
    locate(path, key = false) {
      let node: unknown = doc.contents;
      let found = at((doc.contents as { range?: [number] } | null)?.range?.[0]);
      for (let i = 0; i < path.length; i++) {
        if (isMap(node)) {
          const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(path[i]));
          if (!pair) return found;
          const last = i === path.length - 1;
          const target = last && key ? pair.key : (pair.value ?? pair.key);
          found = at((target as { range?: [number] }).range?.[0]) ?? found;
          node = pair.value;
        } else if (node && typeof node === 'object' && 'items' in node && typeof path[i] === 'number') {
          const item = (node as { items: unknown[] }).items[path[i] as number];
          if (!item) return found;
          found = at((item as { range?: [number] }).range?.[0]) ?? found;
          node = item;
        } else {
          return found;
        }
      }
      return found;
    },
  };
}

/** A problem at `path`, positioned from the source. */
export function problemAt(src: YamlSource, path: readonly PathSeg[], message: string, key = false): ConfigProblem {
  const pos = src.locate(path, key);
  return { path: dotted(src.written?.(path) ?? path), message, line: pos?.line, col: pos?.col };
}
