/** Manifest text shared by the config tests. */

/**
 * A cdc manifest named orders-cdc, reading kafka://127.0.0.1:9092 into postgresql://u@127.0.0.1/db.
 * `sinkOptions` and `cdcBlock` are whole lines, each ending in "\n" and indented six spaces (under
 * `spec.sink.options` and `spec.source.cdc`). Tests assert line numbers in this text: the cdc block
 * starts at line 9 and the sink options three lines after it ends.
 */
export const cdcManifest = (sinkOptions: string, cdcBlock = '      topic.prefix: shop\n      table.include.list: "public.orders"\n'): string =>
  `name: orders-cdc
version: v1alpha
type: nilus
spec:
  type: cdc
  source:
    address: kafka://127.0.0.1:9092
    cdc:
${cdcBlock}  sink:
    address: postgresql://u@127.0.0.1/db
    options:
${sinkOptions}`;
