/**
 * Primary-key handling for the merge buffer: read a key's values from an event and turn them
 * into one Map key string that cannot collide.
 *
 * Encoding: one column → 'n' for NULL, 's' + value otherwise (the prefix keeps NULL apart from
 * the string 'null' and from ''). Several columns → each value as a JSON token, joined by ','.
 * JSON tokens are self-delimiting (strings are quoted and escaped, NULL is the bare word null),
 * so values that contain ',' or '"' cannot shift a boundary. No array is built: this runs once
 * per event on the hot path.
 */
import { UNAVAILABLE, type PgValue, type Row } from '../kernel/types';

/**
 * The value of `col`, from `primary` when it holds the column, else from `image`.
 * Anything that is not a PgValue (absent, or an inherited property such as `toString` when a
 * column is named so) counts as missing: undefined.
 */
export function keyValue(col: string, primary: Row | null, image: Row | null): PgValue | undefined {
  if (primary !== null) {
    const v = primary[col];
    if (isPgValue(v)) return v;
  }
  if (image !== null) {
    const v = image[col];
    if (isPgValue(v)) return v;
  }
  return undefined;
}

function isPgValue(v: unknown): v is PgValue {
  return typeof v === 'string' || v === null || v === UNAVAILABLE;
}

/**
 * The Map key of an event's primary key, or undefined when a key column is missing or is the
 * unchanged-TOAST placeholder (a key that is not known cannot be merged on).
 */
export function encodeKey(keyColumns: readonly string[], primary: Row | null, image: Row | null): string | undefined {
  if (keyColumns.length === 1) {
    const v = keyValue(keyColumns[0]!, primary, image);
    if (v === undefined || v === UNAVAILABLE) return undefined;
    return v === null ? 'n' : 's' + v;
  }
  let out = '';
  for (let i = 0; i < keyColumns.length; i++) {
    const v = keyValue(keyColumns[i]!, primary, image);
    if (v === undefined || v === UNAVAILABLE) return undefined;
    if (i > 0) out += ',';
    out += v === null ? 'null' : JSON.stringify(v);
  }
  return keyColumns.length === 0 ? undefined : out;
}

/**
 * A row holding only the key columns (what apply deletes by). Call only after `encodeKey`
 * succeeded for the same arguments. Null-prototype object so a column named `__proto__`
 * stays an ordinary property.
 */
export function keyRow(keyColumns: readonly string[], primary: Row | null, image: Row | null): Row {
  const row: Row = Object.create(null) as Row;
  for (const col of keyColumns) {
    const v = keyValue(col, primary, image);
    if (v === undefined) throw new TypeError(`keyRow: column ${col} missing; call encodeKey first`);
    row[col] = v;
  }
  return row;
}
