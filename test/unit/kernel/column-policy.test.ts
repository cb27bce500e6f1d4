import { createHmac } from 'node:crypto';
import { ColumnPolicy, compilePattern, keyRefusal } from '../../../src/kernel/column-policy';
import { UNAVAILABLE, type ColumnSpec } from '../../../src/kernel/types';

const spec = (name: string, pgType = 'integer'): ColumnSpec => ({ name, pgType, optional: true, connectType: 'int32' });

describe('column patterns', () => {
  it('an exact name matches only itself, case kept', () => {
    const m = compilePattern('email') as (n: string) => boolean;
    expect([m('email'), m('Email'), m('email2'), m('x_email')]).toEqual([true, false, false, false]);
  });

  it('/regex/ is matched against the whole name (anchored)', () => {
    const m = compilePattern('/pii_.+/') as (n: string) => boolean;
    expect([m('pii_email'), m('x_pii_email'), m('pii_'), m('pii_a|b')]).toEqual([true, false, false, true]);
    const alt = compilePattern('/a|b/') as (n: string) => boolean;
    expect([alt('a'), alt('b'), alt('ab'), alt('xa')]).toEqual([true, true, false, false]);
  });

  it('an invalid regex is reported, not matched', () => {
    const m = compilePattern('/(/');
    expect(typeof m).toBe('object');
    expect((m as { error: string }).error).toMatch(/invalid regular expression \/\(\//);
  });
});

describe('ColumnPolicy', () => {
  const key = 'k3y';
  const p = new ColumnPolicy({
    include: ['id', 'name', 'email', '/pii_.+/', 'note', 'ssn'],
    exclude: ['/pii_secret.*/'],
    mask: [{ pattern: 'email', mask: { kind: 'hash' } }, { pattern: 'ssn', mask: { kind: 'redact' } }, { pattern: '/note|pii_.+/', mask: { kind: 'value', value: '***' } }],
    hashSecret: key,
  });

  it('include, then exclude, then the first matching mask', () => {
    expect(['id', 'name', 'email', 'ssn', 'note', 'pii_phone', 'pii_secret_x', 'other'].map((n) => p.fate(n).kind))
      .toEqual(['keep', 'keep', 'mask', 'mask', 'mask', 'mask', 'drop', 'drop']);
    expect(p.fate('email')).toEqual({ kind: 'mask', mask: { kind: 'hash' } });
    expect(p.fate('pii_phone')).toEqual({ kind: 'mask', mask: { kind: 'value', value: '***' } });
  });

  it('hash is HMAC-SHA256 of the text under the key, hex, stable and keyed', () => {
    const h = p.maskValue({ kind: 'hash' }, 'a@b.c');
    expect(h).toBe(createHmac('sha256', key).update('a@b.c', 'utf8').digest('hex'));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(new ColumnPolicy({ mask: [{ pattern: 'email', mask: { kind: 'hash' } }], hashSecret: key }).maskValue({ kind: 'hash' }, 'a@b.c')).toBe(h);
    expect(new ColumnPolicy({ mask: [{ pattern: 'email', mask: { kind: 'hash' } }], hashSecret: 'other' }).maskValue({ kind: 'hash' }, 'a@b.c')).not.toBe(h);
  });

  it('NULL and the unchanged-TOAST placeholder stay as they are under every mask', () => {
    for (const m of [{ kind: 'hash' as const }, { kind: 'redact' as const }, { kind: 'value' as const, value: 'x' }]) {
      expect(p.maskValue(m, null)).toBeNull();
      expect(p.maskValue(m, UNAVAILABLE)).toBe(UNAVAILABLE);
    }
    expect(p.maskValue({ kind: 'redact' }, 'v')).toBeNull();
    expect(p.maskValue({ kind: 'value', value: '***' }, 'v')).toBe('***');
  });

  it('rows lose dropped columns and carry masked values; hashed and fixed-value columns land as text', () => {
    expect(p.row({ id: '1', email: 'a@b.c', ssn: '123', note: 'n', pii_secret_x: 's', other: 'o' })).toEqual({
      id: '1', email: p.maskValue({ kind: 'hash' }, 'a@b.c'), ssn: null, note: '***',
    });
    expect(p.columns([spec('id'), spec('email', 'varchar(20)'), spec('ssn', 'integer'), spec('note', 'integer'), spec('other')]).map((c) => `${c.name}:${c.pgType}`))
      .toEqual(['id:integer', 'email:text', 'ssn:integer', 'note:text']);
  });

  it('a hash mask without a key is refused; empty rules are not active', () => {
    expect(() => new ColumnPolicy({ mask: [{ pattern: 'a', mask: { kind: 'hash' } }] })).toThrow(/hashSecret/);
    expect(ColumnPolicy.active({})).toBe(false);
    expect(ColumnPolicy.active({ exclude: [] })).toBe(false);
    expect(ColumnPolicy.active({ include: [] })).toBe(true); // an empty include keeps nothing
  });

  it('keyRefusal names each key column excluded or masked, and nothing when the key is untouched', () => {
    expect(keyRefusal(p, ['id'], 'public.t')).toBeUndefined();
    const r = keyRefusal(p, ['id', 'email', 'other'], 'public.t')!;
    expect(r).toContain('"email" (masked)');
    expect(r).toContain('"other" (excluded)');
    expect(r).toContain('public.t');
  });
});
