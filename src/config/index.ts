export { loadConfig, buildConfig, type LoadOptions } from './load';
export { parseManifest, type ParsedManifest, type RawManifest } from './manifest';
export { maskConfig, maskUri } from './mask';
export { requirePrimaryKey } from './primary-key';
export { resolveDestTable, parseTableName, tableSelected } from './names';
export { loadConnectionsFile, resolvePg, resolveKafka, parsePgAddress } from './connections';
export { DEFAULTS } from './defaults';
