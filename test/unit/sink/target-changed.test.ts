import { DatabaseError } from 'pg';
import { classifyError } from '../../../src/kernel/classify';
import { TargetChanges, TargetColumnGoneError, TargetDroppedError } from '../../../src/sink/target-changed';

function pgError(code: string, message: string): Error {
  const e = new DatabaseError(message, 0, 'error');
  e.code = code;
  e.severity = 'ERROR';
  return e;
}

const orders = { schema: 'shop', table: 'orders' };
const gone = () => pgError('42703', 'column "note" of relation "orders" does not exist');

describe('TargetChanges: a target changed under the sink', () => {
  test('a column gone (42703) is retried, naming the table and the column', () => {
    const e = new TargetChanges().explain(gone(), orders);
    expect(e).toBeInstanceOf(TargetColumnGoneError);
    expect(classifyError(e)).toBe('retriable');
    expect(e!.message).toContain('"shop"."orders"');
    expect(e!.message).toContain('column "note" of relation "orders" does not exist');
  });

  test('the same column gone again right after the table was read afresh stops the pipeline', () => {
    const c = new TargetChanges();
    c.explain(gone(), orders);
    const again = c.explain(gone(), orders);
    expect(classifyError(again)).toBe('fatal');
    expect(again!.message).toMatch(/trigger or rule/);
  });

  test('after a commit the same column gone again is retried again', () => {
    const c = new TargetChanges();
    c.explain(gone(), orders);
    c.committed();
    expect(c.explain(gone(), orders)).toBeInstanceOf(TargetColumnGoneError);
  });

  test('the table dropped (42P01) stops the pipeline, naming the table and the fixes', () => {
    const e = new TargetChanges().explain(pgError('42P01', 'relation "shop.orders" does not exist'), orders);
    expect(e).toBeInstanceOf(TargetDroppedError);
    expect(classifyError(e)).toBe('fatal');
    expect(e!.message).toContain('target table "shop"."orders" was dropped');
    expect(e!.message).toMatch(/restore the table/);
    expect(e!.message).toMatch(/resync/);
  });

  test('any other error is left as it is', () => {
    expect(new TargetChanges().explain(pgError('23505', 'duplicate key'), orders)).toBeUndefined();
    expect(new TargetChanges().explain(Object.assign(new Error('x'), { code: '42703' }), orders)).toBeUndefined();
  });
});
