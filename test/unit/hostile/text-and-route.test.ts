/** Issue 12, pure parts: safe text for dead letters, PostgreSQL's identifier truncation, target-name collisions. */
import { identifierBytes, pgIdentifier, safeText } from '../../../src/kernel/text';
import { FatalError } from '../../../src/kernel/errors';
import { Router } from '../../../src/engine/route';
import { reservedTables } from '../../../src/sink/reserved';
import type { PipelineConfig } from '../../../src/config/types';

describe('safeText', () => {
  it('escapes NUL as \\u0000 and replaces lone surrogates, leaving everything else as it is', () => {
    expect(safeText('a\u0000b\u0000')).toBe('a\\u0000b\\u0000');
    expect(safeText('x\uD800y')).toBe('x\uFFFDy');
    expect(safeText('x\uDC00')).toBe('x\uFFFD');
    expect(safeText('ok 😀 ünï "q"')).toBe('ok 😀 ünï "q"');
    expect(safeText('')).toBe('');
    // twice in a row (the regex keeps no state between calls)
    expect(safeText('\uD800')).toBe('\uFFFD');
    expect(safeText('\uD800')).toBe('\uFFFD');
  });

  it('turns any bytes into text PostgreSQL accepts', () => {
    const s = safeText(Buffer.from([0xff, 0x00, 0x7b, 0x41]).toString('utf8'));
    expect(s).not.toContain('\u0000');
    expect(Buffer.from(s, 'utf8').includes(0)).toBe(false);
    expect(s).toBe('\uFFFD\\u0000{A');
  });
});

describe('pgIdentifier (NAMEDATALEN-1 = 63 bytes of UTF-8, cut on a character boundary)', () => {
  it('keeps names up to 63 bytes and cuts longer ones to 63 bytes', () => {
    expect(pgIdentifier('a'.repeat(63))).toBe('a'.repeat(63));
    expect(pgIdentifier('a'.repeat(70))).toBe('a'.repeat(63));
    expect(pgIdentifier('orders')).toBe('orders');
  });

  it('never cuts inside a multibyte character', () => {
    // 62 ASCII bytes + 'é' (2 bytes) = 64 bytes: the é does not fit, 62 bytes remain.
    expect(pgIdentifier('a'.repeat(62) + 'é')).toBe('a'.repeat(62));
    // 21 × '€' (3 bytes) = 63 bytes fit exactly; a 22nd does not.
    expect(pgIdentifier('€'.repeat(22))).toBe('€'.repeat(21));
    expect(identifierBytes(pgIdentifier('€'.repeat(22)))).toBe(63);
    // A 4-byte character (surrogate pair in JS) at the boundary.
    expect(pgIdentifier('a'.repeat(61) + '😀')).toBe('a'.repeat(61));
    expect(pgIdentifier('a'.repeat(59) + '😀')).toBe('a'.repeat(59) + '😀');
  });
});

describe('Router: collisions as PostgreSQL names tables', () => {
  const long = (suffix: string) => 'x'.repeat(63) + suffix; // 70 characters sharing the first 63

  it('refuses two source tables that resolve to one table after truncation, naming both sources, both full names and the fix', () => {
    const r = new Router({ schema: 'mirror', table: '{table}' });
    expect(r.route({ schema: 'shop', table: long('_orders') })).toEqual({ schema: 'mirror', table: long('_orders') });
    let err: unknown;
    try {
      r.route({ schema: 'shop', table: long('_refund') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FatalError);
    const msg = (err as Error).message;
    expect(msg).toContain(`shop.${long('_orders')}`);
    expect(msg).toContain(`shop.${long('_refund')}`);
    expect(msg).toContain(`"mirror"."${long('_orders')}"`);
    expect(msg).toContain(`"mirror"."${long('_refund')}"`);
    expect(msg).toContain(`"mirror"."${'x'.repeat(63)}"`);
    expect(msg).toMatch(/63 bytes.*shorter dest_table pattern/);
  });

  it('catches a collision made by a prefix in the pattern, and through {schema}', () => {
    const r = new Router({ schema: 'm', table: 'cdc_{schema}_{table}' });
    r.route({ schema: 'a', table: 'y'.repeat(60) + '1' });
    expect(() => r.route({ schema: 'a', table: 'y'.repeat(60) + '2' })).toThrow(FatalError);
    const s = new Router({ schema: '{schema}', table: 'orders' });
    s.route({ schema: 'z'.repeat(64), table: 't' });
    expect(() => s.route({ schema: 'z'.repeat(65), table: 't' })).toThrow(/would land in the same PostgreSQL table/);
  });

  it('lets long names that stay distinct through (PostgreSQL truncates them consistently)', () => {
    const r = new Router({ schema: 'mirror', table: '{table}' });
    expect(() => r.check([{ schema: 's', table: 'a' + 'x'.repeat(69) }, { schema: 's', table: 'b' + 'x'.repeat(69) }, { schema: 's', table: 'short' }])).not.toThrow();
    // the same source again is not a collision
    expect(() => r.route({ schema: 's', table: 'a' + 'x'.repeat(69) })).not.toThrow();
  });

  it('check() routes a whole list up front and stops at the first collision', () => {
    const r = new Router({ schema: 'mirror', table: '{table}' });
    expect(r.check([{ schema: 's', table: 'a' }, { schema: 's', table: 'b' }])).toEqual([
      { schema: 'mirror', table: 'a' },
      { schema: 'mirror', table: 'b' },
    ]);
    const c = new Router({ schema: 'mirror', table: '{table}' });
    expect(() => c.check([{ schema: 's', table: long('1') }, { schema: 's', table: long('2') }])).toThrow(FatalError);
  });

  it('refuses a source table that resolves to the offsets table or the dead-letter table', () => {
    const cfg = {
      sink: { options: { destTable: 'analytics.{table}', strategy: 'merge' } },
      errors: { tolerance: 'all', deadLetter: { kind: 'table', table: { schema: 'analytics', table: 'dead_letters' } }, retry: { maxAttempts: 1, initialMs: 1, maxMs: 1 } },
    } as unknown as PipelineConfig;
    const r = new Router({ schema: 'analytics', table: '{table}' }, { reserved: reservedTables(cfg) });
    expect(r.route({ schema: 'public', table: 'orders' })).toEqual({ schema: 'analytics', table: 'orders' });
    expect(() => r.route({ schema: 'public', table: 'nilus_offsets' })).toThrow(/public\.nilus_offsets resolves to "analytics"\."nilus_offsets".*offsets table.*dest_table/);
    expect(() => r.route({ schema: 'public', table: 'dead_letters' })).toThrow(/dead-letter table/);
    // also when only PostgreSQL's truncation makes it the same name
    const reserved = new Router({ schema: 'analytics', table: '{table}' }, { reserved: [{ ref: { schema: 'analytics', table: 'q'.repeat(63) }, role: 'the dead-letter table' }] });
    expect(() => reserved.route({ schema: 'p', table: 'q'.repeat(70) })).toThrow(/PostgreSQL truncates/);
  });

  it('with a dead-letter topic, refuses a source table that resolves to the table marking replayed dead letters', () => {
    const cfg = {
      sink: { options: { destTable: 'analytics.{table}', strategy: 'merge' } },
      errors: { tolerance: 'all', deadLetter: { kind: 'topic', topic: 'dlq' }, retry: { maxAttempts: 1, initialMs: 1, maxMs: 1 } },
    } as unknown as PipelineConfig;
    const r = new Router({ schema: 'analytics', table: '{table}' }, { reserved: reservedTables(cfg) });
    expect(() => r.route({ schema: 'public', table: 'nilus_replayed_letters' })).toThrow(/marking replayed dead letters/);
    expect(r.route({ schema: 'public', table: 'orders' })).toEqual({ schema: 'analytics', table: 'orders' });
  });

  it('keeps the fixed-dest_table rule for a second source table', () => {
    const r = new Router({ schema: 'analytics', table: 'orders_cdc' });
    r.route({ schema: 'retail', table: 'orders' });
    expect(() => r.route({ schema: 'retail', table: 'items' })).toThrow(/retail\.orders and retail\.items/);
  });
});

describe('Router: two source tables, one target without truncation', () => {
  it('same table name in two source schemas with dest_table <schema>.{table}: a stop that suggests {schema}', () => {
    const r = new Router({ schema: 'mirror', table: '{table}' });
    r.route({ schema: 'sales', table: 'orders' });
    expect(() => r.route({ schema: 'archive', table: 'orders' })).toThrow(/sales\.orders and archive\.orders would land in the same PostgreSQL table: both resolve to "mirror"\."orders".*\{schema\}_\{table\}/);
  });
});

describe('sourcesOfTopics + Router.check at start-up', () => {
  it('finds the collision among the topics before any record is read', async () => {
    const { sourcesOfTopics } = await import('../../../src/decode/source');
    const long = 'x'.repeat(63);
    const sources = sourcesOfTopics([`shop.public.${long}_orders`, `shop.public.${long}_refund`, 'shop.plain', 'other.a.b'], 'shop');
    expect(sources).toEqual([{ schema: 'public', table: `${long}_orders` }, { schema: 'public', table: `${long}_refund` }, { schema: 'public', table: 'plain' }]);
    expect(() => new Router({ schema: 'mirror', table: '{table}' }).check(sources)).toThrow(/public\.x+_orders and public\.x+_refund would land in the same PostgreSQL table/);
  });
});
