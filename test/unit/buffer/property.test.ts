/**
 * Property: for random op sequences over a small key space, applying the reduced batches to a
 * table gives the same table as applying every event one by one. The table is an in-memory Map
 * and the appliers below model what apply does in PostgreSQL (an upsert keeps the stored value
 * of a column sent as the unchanged-TOAST placeholder; deletes of absent keys are no-ops).
 *
 * Sequences are realistic for Debezium: an update only for a key that exists, placeholders only
 * in updates that keep their key, a key change only to a key that is free.
 */
import { rowOf } from '../../../src/copy-text/line';
import { TableBuffer } from '../../../src/buffer';
import { UNAVAILABLE, type ChangeEvent, type PgValue, type Row, type TableBatch } from '../../../src/kernel/types';
import { TARGET, ev } from './events';

type Table = Map<string, Row>;
const KEYS = ['a', 'b'];
const A_VALUES: (string | null)[] = ['x', 'x,y', null, 'null'];
const B_VALUES: (string | null)[] = ['', '"', 'y', '\\"'];

const tkey = (r: Row): string => JSON.stringify(KEYS.map((k) => r[k]));

/** Upsert as apply does it: a placeholder keeps the stored value (when there is a row). */
function upsert(t: Table, row: Row): void {
  const stored = t.get(tkey(row));
  const next: Row = { ...row };
  for (const c of Object.keys(next)) {
    if (next[c] === UNAVAILABLE && stored !== undefined && stored[c] !== undefined) next[c] = stored[c]!;
  }
  t.set(tkey(row), next);
}

function applyEvent(t: Table, e: ChangeEvent): void {
  if (e.op === 't') t.clear();
  else if (e.op === 'd') t.delete(tkey(e.key ?? e.before!));
  else {
    if (e.op === 'u' && e.before !== null) t.delete(tkey(e.before));
    upsert(t, e.after!);
  }
}

function applyBatch(t: Table, b: TableBatch): void {
  if (b.truncate) t.clear();
  for (const r of b.upserts) upsert(t, rowOf(r));
  for (const k of b.deletes) t.delete(tkey(k));
}

/** Deterministic PRNG (mulberry32) so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(seed: number, count: number, initial: Table): ChangeEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const live = new Map(initial); // the source table as the generator goes
  const out: ChangeEvent[] = [];
  let n = 0;
  const row = (a: PgValue, b: PgValue, toast: boolean): Row => ({
    a, b, v: `v${seed}.${n}`, big: toast && r() < 0.6 ? UNAVAILABLE : r() < 0.2 ? null : `big${seed}.${n}`,
  });
  for (n = 0; n < count; n++) {
    const a = pick(A_VALUES);
    const b = pick(B_VALUES);
    const key = { a, b };
    const exists = live.has(tkey(key));
    const roll = r();
    const withKey = r() < 0.5 ? { key } : {};
    let e: ChangeEvent;
    if (roll < 0.03) e = ev('t', { columns: [] });
    else if (roll < 0.25) e = ev('d', { before: key, ...withKey });
    else if (roll < 0.6 && exists) e = ev('u', { after: row(a, b, true), ...withKey });
    else if (roll < 0.7 && exists) {
      const to = { a: pick(A_VALUES), b: pick(B_VALUES) };
      if (live.has(tkey(to))) continue;
      e = ev('u', { before: { ...live.get(tkey(key))! }, after: row(to.a, to.b, false) });
    } else e = ev(r() < 0.5 ? 'c' : 'r', { after: row(a, b, false), ...withKey });
    applyEvent(live, e);
    out.push(e);
  }
  return out;
}

function sorted(t: Table): [string, Row][] {
  return [...t.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

describe('merge reduction equals one-by-one application (property)', () => {
  it.each(Array.from({ length: 300 }, (_, i) => i + 1))('seed %i', (seed) => {
    const initial: Table = new Map();
    for (const a of A_VALUES.slice(0, 2)) upsert(initial, { a, b: 'y', v: 'pre', big: 'pre-big' });
    const events = generate(seed, 80, initial);

    const expected = new Map(initial);
    for (const e of events) applyEvent(expected, e);

    const actual = new Map(initial);
    const buf = new TableBuffer(TARGET, 'merge', KEYS);
    const r = rng(seed * 7919);
    for (const e of events) {
      buf.add(e, 0);
      if (r() < 0.1) applyBatch(actual, buf.drain()); // flush boundaries at random points
    }
    applyBatch(actual, buf.drain());

    expect(sorted(actual)).toEqual(sorted(expected));
  });

  it('the generator produces every kind of case the property is about', () => {
    const events = Array.from({ length: 50 }, (_, i) => generate(i + 1, 80, new Map())).flat();
    const placeholders = events.filter((e) => e.op === 'u' && e.after?.big === UNAVAILABLE).length;
    const keyMoves = events.filter((e) => e.op === 'u' && e.before !== null).length;
    const ops = new Set(events.map((e) => e.op));
    expect([...ops].sort()).toEqual(['c', 'd', 'r', 't', 'u']);
    expect(placeholders).toBeGreaterThan(50);
    expect(keyMoves).toBeGreaterThan(20);
  });
});
