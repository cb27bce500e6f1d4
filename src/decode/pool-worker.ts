/**
 * A DecodePool thread (pool.ts): decodes each batch it is sent with Decoder.decodeForMerge and
 * replies with what the merge buffer keeps of every record it holds as a line. Anything else —
 * the general path, an error — is left to the main thread, which decodes that record itself and
 * reports any error with its position, exactly as without threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ColumnSpec, RawRecord, SourceInfo } from '../kernel/types';
import { isCopyReady } from '../kernel/types';
import { Decoder } from './decoder';
import { Kind, META_FIELDS, type DecodeReply, type DecodeRequest, type DecodeResponse, type RequestPart, type WireDesc, type WorkerInit } from './pool-protocol';

const init = workerData as WorkerInit;
const decoder = new Decoder(init.decoder);
// One array for every call: the decoder keeps its encoders per key-columns array.
const keyColumns = init.keyColumns;

/** Descriptor ids by (columns, key columns) identity; table ids by schema and name. */
const descIds = new Map<readonly ColumnSpec[], { keyColumns: readonly string[]; id: number }[]>();
const tableIds = new Map<string, number>();
let nextDesc = 0;
let nextTable = 0;

/** One part of a request; its records' meta start at record `first`. */
function handle(req: RequestPart, data: Buffer, meta: Int32Array, first: number): DecodeReply {
  const n = req.count;
  const m = meta;
  const kinds = new Uint8Array(n);
  const bytes = new Uint32Array(n);
  const descs = new Int32Array(n);
  const tables = new Int32Array(n);
  const keys: (string | undefined)[] = new Array(n);
  const lines: (string | undefined)[] = new Array(n);
  const sources: (SourceInfo | undefined)[] = new Array(n);
  const newDescs: WireDesc[] = [];
  const newTables: [number, { schema: string; table: string }][] = [];
  let ops = '';
  for (let i = 0; i < n; i++) {
    const at = (first + i) * META_FIELDS;
    const vLen = m[at + 3]!;
    let op = ' ';
    if (vLen >= 0) {
      const kLen = m[at + 1]!;
      const rec: RawRecord = {
        topic: req.topic,
        partition: req.partition,
        offset: '0',
        key: kLen < 0 ? null : data.subarray(m[at]!, m[at]! + kLen),
        value: data.subarray(m[at + 2]!, m[at + 2]! + vLen),
      };
      let d;
      try {
        d = decoder.decodeForMerge(rec, keyColumns);
      } catch {
        d = null; // the main thread decodes it again and reports the error with its position
      }
      if (d !== null && isCopyReady(d)) {
        op = d.op;
        kinds[i] = d.op === 'd' ? Kind.Delete : Kind.Upsert;
        keys[i] = d.key;
        lines[i] = d.op === 'd' ? d.keyLine! : d.line!;
        bytes[i] = d.bytes;
        sources[i] = d.source;
        let list = descIds.get(d.columns);
        if (list === undefined) descIds.set(d.columns, (list = []));
        let desc = list.find((x) => x.keyColumns === d.keyColumns);
        if (desc === undefined) {
          desc = { keyColumns: d.keyColumns, id: nextDesc++ };
          list.push(desc);
          newDescs.push({ id: desc.id, columns: d.columns, names: d.names, keyColumns: d.keyColumns }); // copied by postMessage
        }
        descs[i] = desc.id;
        const tk = `${d.table.schema.length}:${d.table.schema}.${d.table.table}`;
        let t = tableIds.get(tk);
        if (t === undefined) {
          tableIds.set(tk, (t = nextTable++));
          newTables.push([t, { schema: d.table.schema, table: d.table.table }]);
        }
        tables[i] = t;
      }
    }
    ops += op;
  }
  return { id: req.id, kinds, ops, keys, lines, bytes, descs, tables, sources, newDescs, newTables };
}

parentPort!.on('message', (req: DecodeRequest) => {
  const data = Buffer.from(req.data);
  const replies: DecodeReply[] = [];
  const transfer: ArrayBuffer[] = [];
  let first = 0;
  for (const part of req.parts) {
    const r = handle(part, data, req.meta, first);
    first += part.count;
    replies.push(r);
    transfer.push(r.kinds.buffer as ArrayBuffer, r.bytes.buffer as ArrayBuffer, r.descs.buffer as ArrayBuffer, r.tables.buffer as ArrayBuffer);
  }
  // The request's buffer goes back: the main thread reuses it rather than touching fresh memory.
  const res: DecodeResponse = { replies, data: req.data };
  parentPort!.postMessage(res, [...transfer, req.data]);
});
