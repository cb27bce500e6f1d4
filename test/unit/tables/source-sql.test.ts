/**
 * Every statement sent to a source database lives in src/tables/sql/ (postgresql.ts, mysql.ts), and
 * every statement sent to the target in src/sink/ (transaction control in src/pg/transaction.ts).
 * Anywhere else in src/, a string or template literal that starts with a statement's keyword is a
 * statement written inline again: this test names its file and line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..', '..', '..');
const SRC = join(ROOT, 'src');
const HOMES = ['src/tables/sql/', 'src/sink/', 'src/pg/transaction.ts', 'src/pg/session.ts'];

const KEYWORD = /^\s*(SELECT|SHOW|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE|SET) /;
/**
 * A privilege named at the head of a sentence for humans ("SELECT on source table …"): no statement
 * starts so, ON being reserved after each of these keywords.
 */
const PRIVILEGE_IN_PROSE = /^\s*[A-Z]+ on /;

/** `file:line: text` of each literal in `code` that starts like a statement. */
function inlineStatements(file: string, code: string): string[] {
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let text: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) text = node.text;
    else if (ts.isTemplateExpression(node)) text = node.head.text;
    if (text !== undefined && KEYWORD.test(text) && !PRIVILEGE_IN_PROSE.test(text)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push(`${file}:${line}: ${text.trim().split('\n')[0]!.slice(0, 80)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

describe('source-side SQL has one home per database', () => {
  it('no statement is written inline outside src/tables/sql/ and the target side', () => {
    const files = sourceFiles(SRC)
      .map((f) => relative(ROOT, f).split(sep).join('/'))
      .filter((f) => !HOMES.some((h) => (h.endsWith('/') ? f.startsWith(h) : f === h)));
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((f) => inlineStatements(f, readFileSync(join(ROOT, f), 'utf8')))).toEqual([]);
  });

  it('finds statements in strings and templates, not in prose or comments', () => {
    const code = [
      "client.query('SELECT 1');",
      'run(c, `  SHOW GRANTS`);',
      'q(`\nDELETE FROM ${t} WHERE x`);',
      "q(\"SET TimeZone = 'UTC'\");",
      "add(true, `SELECT on source table ${name}`);",
      "throw new Error(`cannot create it — run ALTER TABLE ${t} REPLICA IDENTITY FULL`);",
      "const privileges = ['INSERT', 'SELECT'];",
      '// SELECT 1 in a comment',
      "q('select 1');",
    ].join('\n');
    expect(inlineStatements('x.ts', code)).toEqual(['x.ts:1: SELECT 1', 'x.ts:2: SHOW GRANTS', 'x.ts:3: DELETE FROM', "x.ts:5: SET TimeZone = 'UTC'"]);
  });
});
