/**
 * spec.sink.options.columns in the decoder: dropped columns are never in an event or a COPY line,
 * masked ones carry the mask, on the general path and the COPY-ready path alike (byte-identical on
 * real Debezium output), and a key column dropped or masked stops the pipeline naming it.
 */
import type { RawRecord } from '../../../src/kernel/types';
import { FatalError } from '../../../src/kernel/errors';
import { ColumnPolicy, type ColumnRules } from '../../../src/kernel/column-policy';
import { Decoder } from '../../../src/decode/decoder';
import { compareAll, realRecords } from './copy-ready.support';
import { envelope, rec, struct } from './helpers';

const prefixOf = (recs: RawRecord[]) => recs[0]!.topic.split('.')[0]!;
const rules: ColumnRules = {
  exclude: ['c_text', '/c_int[248]/'],
  mask: [{ pattern: 'c_varchar', mask: { kind: 'hash' } }, { pattern: 'c_uuid', mask: { kind: 'redact' } }, { pattern: 'c_bool', mask: { kind: 'value', value: 'hidden' } }],
  hashSecret: 'unit-key',
};

describe('column filter on real Debezium output (wide)', () => {
  const recs = realRecords('wide');

  it('the COPY-ready path stays byte-identical to the filtered general path, none deferred', () => {
    const r = compareAll(recs, { topicPrefix: prefixOf(recs), columns: rules });
    expect(r.deferred).toEqual([]);
    expect(r.rejected).toBe(0);
    expect(r.fast).toBe(recs.length - 1);
  });

  it('dropped columns are in no event or line; masked ones carry the mask and land as text', () => {
    const plain = new Decoder({ topicPrefix: prefixOf(recs) }).decode(recs[0]!)!;
    const d = new Decoder({ topicPrefix: prefixOf(recs), columns: rules });
    const ev = d.decode(recs[0]!)!;
    const names = ev.columns.map((c) => c.name);
    expect(names).not.toContain('c_text');
    expect(names).not.toContain('c_int2');
    expect(names).not.toContain('c_int8');
    expect(Object.keys(ev.after!)).toEqual(names);
    expect(names).toEqual(plain.columns.map((c) => c.name).filter((n) => !['c_text', 'c_int2', 'c_int4', 'c_int8'].includes(n)));
    const policy = new ColumnPolicy(rules);
    expect(ev.after!.c_varchar).toBe(policy.maskValue({ kind: 'hash' }, plain.after!.c_varchar!));
    expect(ev.after!.c_uuid).toBeNull();
    expect(ev.after!.c_bool).toBe('hidden');
    expect(ev.columns.find((c) => c.name === 'c_bool')!.pgType).toBe('text');
    expect(ev.after!.c_json).toEqual(plain.after!.c_json);
    const line = d.encodeOnly(recs[0]!)!.line!;
    expect(line).not.toContain('line one'); // c_text's value
    expect(line).not.toContain('varchar value');
    expect(line.split('\t')).toHaveLength(names.length);
  });

  it('without rules nothing changes', () => {
    const a = new Decoder({ topicPrefix: prefixOf(recs) }).decode(recs[0]!)!;
    const b = new Decoder({ topicPrefix: prefixOf(recs), columns: { exclude: [] } }).decode(recs[0]!)!;
    expect(b).toEqual(a);
  });
});

describe('column filter and the key', () => {
  const row = struct([['id', 'int32'], ['email', 'string']]);
  const keySchema = { schema: struct([['id', 'int32']]), payload: { id: 1 } };
  const value = envelope(row, { op: 'c', after: { id: 1, email: 'a@b.c' }, source: { schema: 'public', table: 't', ts_ms: 1, lsn: 1 }, ts_ms: 1 });

  it('a key column excluded or masked stops with a FatalError naming it, on both paths', () => {
    for (const r of [{ exclude: ['id'] }, { mask: [{ pattern: 'id', mask: { kind: 'redact' as const } }] }]) {
      const d = new Decoder({ topicPrefix: 'shop', columns: r });
      expect(() => d.decode(rec(value, keySchema))).toThrow(FatalError);
      expect(() => d.decode(rec(value, keySchema))).toThrow(/primary-key column "id"/);
      expect(() => new Decoder({ topicPrefix: 'shop', columns: r }).decodeForMerge(rec(value, keySchema))).toThrow(/primary-key column "id"/);
    }
  });

  it('schemaless events are filtered as events', () => {
    const d = new Decoder({ topicPrefix: 'shop', columns: { exclude: ['email'] } });
    const ev = d.decode(rec({ op: 'c', after: { id: 1, email: 'a@b.c', n: 2 }, source: { schema: 'public', table: 't' } }, { id: 1 }))!;
    expect(ev.after).toEqual({ id: '1', n: '2' });
    expect(ev.columns.map((c) => c.name)).toEqual(['id', 'n']);
  });
});
