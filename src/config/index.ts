export { loadConfig, buildConfig, type LoadOptions } from './load';
export { parseManifest, type ParsedManifest } from './manifest';
export type { RawManifest } from './raw-manifest';
export { maskConfig, maskUri } from './mask';
export { requirePrimaryKey } from './primary-key';
export { resolveDestTable, parseTableName, tableSelected } from './names';
export { loadConnectionsFile } from './connections';
export { resolvePg, resolveKafka, parsePgAddress } from './addresses';
export { DEFAULTS } from './defaults';
