import { DatabaseError } from 'pg';
import { describeRejection, rejectionReason } from '../../../src/sink/rejection';
import type { RejectedRow } from '../../../src/sink/isolate';

function raised(where: string | undefined): Error {
  const e = new DatabaseError('customer_id -1 is negative', 0, 'error');
  e.code = 'P0001';
  e.severity = 'ERROR';
  if (where !== undefined) e.where = where;
  return e;
}

const row = (error: Error): RejectedRow => ({
  table: '"shop"."orders"',
  pos: { topic: 't', partition: 0, offset: '7' },
  op: 'upsert',
  row: { id: '1', customer_id: '-1' },
  error,
});

describe('a row a trigger refused (P0001)', () => {
  test('the reason names the trigger function from PostgreSQL\'s context', () => {
    const r = row(raised('PL/pgSQL function shop.refuse_negative() line 1 at RAISE'));
    expect(rejectionReason(r)).toBe('"shop"."orders" rejected the upsert: customer_id -1 is negative (SQLSTATE P0001) (raised by trigger function shop.refuse_negative())');
  });

  test('without a context the reason is PostgreSQL\'s message and SQLSTATE alone', () => {
    expect(rejectionReason(row(raised(undefined)))).toBe('"shop"."orders" rejected the upsert: customer_id -1 is negative (SQLSTATE P0001)');
  });

  test('the stop names the record, the table and the fix', () => {
    const d = describeRejection(row(raised('PL/pgSQL function shop.refuse_negative() line 1 at RAISE')));
    expect(d).toMatch(/^the record at topic t, partition 0, offset 7 cannot apply: "shop"."orders" rejected the upsert/);
    expect(d).toContain("Fix the row at the source or the target's constraint or trigger, then restart");
  });
});
