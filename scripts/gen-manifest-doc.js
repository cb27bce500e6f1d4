#!/usr/bin/env node
'use strict';
/**
 * Generates the key reference tables of docs/manifest.md and README.md from
 * schema/*.schema.json, between the BEGIN/END GENERATED markers (prose outside them is
 * hand-written).
 *   node scripts/gen-manifest-doc.js          rewrite the docs
 *   node scripts/gen-manifest-doc.js --check  exit 1 when a doc is out of date
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'manifest.md');
const DOCS = [DOC, path.join(ROOT, 'README.md')];
const BEGIN = '<!-- BEGIN GENERATED: do not edit, run `node scripts/gen-manifest-doc.js` -->';
const END = '<!-- END GENERATED -->';

function typeOf(s) {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${v}\``).join(' | ');
  if (s.oneOf) return s.oneOf.map(typeOf).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (Array.isArray(s.type)) return s.type.join(' or ');
  return s.type || 'any';
}

function cell(text) {
  return String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Depth-first rows: one per key, nested mappings flattened into dotted paths. */
function rows(schema, prefix, required, out) {
  for (const [key, s] of Object.entries(schema.properties || {})) {
    const p = prefix ? `${prefix}.${key}` : key;
    const def = s['x-default-text'] || (s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : '');
    const isMap = s.type === 'object' && s.properties;
    out.push(`| \`${p}\` | ${isMap ? 'mapping' : cell(typeOf(s))} | ${required.includes(key) ? 'yes' : 'no'} | ${def || '-'} | ${cell(s.description || '')} |`);
    if (isMap) rows(s, p, s.required || [], out);
  }
  return out;
}

function table(schema) {
  return ['| Key | Type | Required | Default | Meaning |', '| --- | --- | --- | --- | --- |', ...rows(schema, '', schema.required || [], [])].join('\n');
}

/** Dotted paths of the mappings marked x-kebab-aliases (read by src/config/aliases.ts too). */
function aliasBlocks(schema, prefix = '', out = []) {
  for (const [key, s] of Object.entries(schema.properties || {})) {
    const p = prefix ? `${prefix}.${key}` : key;
    if (s['x-kebab-aliases'] === true) out.push(p);
    aliasBlocks(s, p, out);
  }
  return out;
}

function aliasParagraph(schema) {
  const blocks = aliasBlocks(schema).map((b) => `\`${b}\``);
  return (
    `Under ${blocks.join(' and ')} a key with \`_\` may also be written in kebab case, as the Nilus v1 docs spell it ` +
    '(`dest-table` for `dest_table`, `batch.max-rows` for `batch.max_rows`). The kebab spelling is an alias: it is read as ' +
    'the snake_case key before any check, so the same rules and defaults apply, and a problem found on it names the key as ' +
    'written. Neither spelling wins: one mapping setting both for a key is refused, naming both paths (keep one). A kebab ' +
    'key with no snake_case counterpart is an unknown key. `validate` prints a `note:` line for each alias used and `run` ' +
    'logs it once at start. The table and the schema spell keys in snake_case only (an editor checking against the schema ' +
    'flags the kebab spelling; nilus-pg does not).'
  );
}

function connectionsTable(schema) {
  const entry = schema.properties.connections.additionalProperties;
  const out = [];
  for (const branch of entry.allOf) {
    // Each branch is chosen by its `if` on type: a const, or an enum of aliases (mysql, mariadb).
    const when = branch.if.properties.type;
    const kinds = when.const !== undefined ? [when.const] : when.enum;
    // type is required by the entry itself, the other keys by the branch.
    const required = [...(entry.required || []), ...(branch.then.required || [])];
    out.push(`**type: ${kinds.join(' or ')}**`, '', table({ properties: branch.then.properties, required }), '');
  }
  return out.join('\n').trim();
}

function render() {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'manifest.schema.json'), 'utf8'));
  const conns = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'connections.schema.json'), 'utf8'));
  return [BEGIN, '', '### Manifest keys', '', aliasParagraph(manifest), '', table(manifest), '', '### Connections file entries (`connections.<NAME>`)', '', connectionsTable(conns), '', END].join('\n');
}

/** The doc text with its generated part replaced. */
function update(doc) {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error('a generated doc lacks the generated-section markers');
  return doc.slice(0, a) + render() + doc.slice(b + END.length);
}

if (require.main === module) {
  for (const file of DOCS) {
    const doc = fs.readFileSync(file, 'utf8');
    const next = update(doc);
    if (process.argv.includes('--check')) {
      if (next !== doc) {
        console.error(`${path.relative(ROOT, file)} is out of date: run node scripts/gen-manifest-doc.js`);
        process.exitCode = 1;
      }
    } else fs.writeFileSync(file, next);
  }
}

module.exports = { render, update, aliasBlocks, DOC, DOCS, BEGIN, END };
