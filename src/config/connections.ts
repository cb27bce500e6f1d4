/**
 * The connections file (YAML, validated by schema/connections.schema.json): loading it, `${ENV_VAR}`
 * and *_file secrets, and looking up a `dataos://NAME` by name and type. ./addresses.ts turns
 * addresses (parsed in place or looked up here) into connection settings.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, type ConfigProblem } from '../kernel/errors';
import type { SslMode } from './types';
import { DEFAULTS } from './defaults';
import { schemaProblems } from './schema-check';
import { dotted, parseYaml, problemAt, type PathSeg, type YamlSource } from './yaml-source';
import type { RawManifest } from './raw-manifest';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface ConnectionsFile {
  readonly path: string;
  readonly src: YamlSource;
  readonly entries: Readonly<Record<string, Record<string, unknown>>>;
}

/** Replace `${VAR}` references; a missing variable is a problem naming the field and the variable. */
export function substituteEnv(s: string, env: NodeJS.ProcessEnv, field: string, problems: ConfigProblem[], encode = false): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) {
      problems.push({ path: field, message: `environment variable ${name} is not set (referenced as \${${name}}): export it, or write the value in place` });
      return '';
    }
    return encode ? encodeURIComponent(v) : v;
  });
}

export async function loadConnectionsFile(path: string): Promise<ConnectionsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: 'connections', message: `cannot read the connections file ${path}: ${(e as Error).message}; pass --connections <file> or set ${DEFAULTS.env.connectionsPath}` }]);
  }
  const src = parseYaml(text, path);
  if (src.problems.length) throw new ConfigError(src.problems.map((p) => ({ ...p, path: `${path}: ${p.path}` })));
  const problems = schemaProblems('connections', src);
  if (problems.length) throw new ConfigError(problems.map((p) => ({ ...p, path: `${path}: ${p.path}` })));
  return { path, src, entries: (src.value as { connections: Record<string, Record<string, unknown>> }).connections ?? {} };
}

export async function secret(entry: Record<string, unknown>, key: string, field: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Promise<string | undefined> {
  if (typeof entry[key] === 'string') return substituteEnv(entry[key] as string, env, `${field}.${key}`, problems);
  const file = entry[`${key}_file`];
  if (typeof file !== 'string') return undefined;
  const p = substituteEnv(file, env, `${field}.${key}_file`, problems);
  try {
    // Secret files usually end with a newline that is not part of the secret.
    return (await readFile(p, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    problems.push({ path: `${field}.${key}_file`, message: `cannot read ${p}: ${(e as Error).message}` });
    return '';
  }
}

type ConnectionType = 'postgresql' | 'kafka' | 'mysql' | 'mariadb';

/**
 * What a cdc source address names: Kafka (topics of someone's connector), or a database whose
 * connector nilus-pg manages. A dataos:// name missing from the file is reported by the resolver.
 */
export function cdcSourceKind(address: string, file: ConnectionsFile | undefined): 'kafka' | 'postgresql' | 'mysql' {
  if (/^postgres(ql)?:\/\//.test(address)) return 'postgresql';
  if (/^(mysql|mariadb):\/\//.test(address)) return 'mysql';
  if (!address.startsWith('dataos://')) return 'kafka';
  const type = file?.entries[address.slice('dataos://'.length)]?.type;
  return type === 'postgresql' ? 'postgresql' : type === 'mysql' || type === 'mariadb' ? 'mysql' : 'kafka';
}

export function lookup(file: ConnectionsFile | undefined, name: string, want: ConnectionType | readonly ConnectionType[], field: string): Record<string, unknown> {
  if (!file) {
    throw new ConfigError([{ path: field, message: `dataos://${name} needs a connections file: pass --connections <file> or set ${DEFAULTS.env.connectionsPath}` }]);
  }
  const wanted = typeof want === 'string' ? [want] : want;
  const kinds = wanted.join(' or ');
  // A field of the connections file itself (a database connection's kafka) reads "connections.NAME.kafka in <file>".
  const where = field.startsWith(`${file.path}: `) ? `${field.slice(file.path.length + 2)} in ${file.path}` : field;
  const e = file.entries[name];
  if (!e) {
    const known = Object.keys(file.entries);
    throw new ConfigError([{ path: field, message: `connection "${name}" is not in ${file.path} (it has: ${known.join(', ') || 'none'}): add a ${kinds} connection "${name}" to that file, or set ${where} to dataos://NAME of one it has` }]);
  }
  if (!wanted.includes(e.type as ConnectionType)) {
    const fitting = Object.keys(file.entries).filter((k) => wanted.includes(file.entries[k]!.type as ConnectionType));
    const p = problemAt(
      file.src,
      ['connections', name, 'type'],
      `connection "${name}" is type ${String(e.type)}, but ${where} needs a ${kinds} connection: set ${where} to dataos://NAME of a ${kinds} connection (${fitting.length ? `${file.path} has: ${fitting.join(', ')}` : `${file.path} has none yet`})`,
    );
    throw new ConfigError([{ ...p, path: `${file.path}: ${p.path}` }]);
  }
  return e;
}

/**
 * `nilus-pg validate --connections`: every dataos:// name the manifest uses — the sink, the source,
 * spec.source.options.kafka, and for a managed cdc source the database connection's own kafka —
 * looked up in the connections file by name and type only. No ${ENV} is substituted, no secret
 * or CA file read, nothing connected to: the rest is resolved when the pipeline is built.
 */
export function connectionNameProblems(m: RawManifest, manifest: YamlSource, file: ConnectionsFile): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const resolve = (address: unknown, want: readonly ConnectionType[], path: readonly PathSeg[], src: YamlSource, field: string): Record<string, unknown> | undefined => {
    if (typeof address !== 'string' || !address.startsWith('dataos://')) return undefined;
    try {
      return lookup(file, address.slice('dataos://'.length), want, field);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // An unknown name is placed where it is written (the manifest, or the connections file).
      const pos = src.locate(path);
      problems.push(...e.problems.map((p) => (p.line === undefined && pos ? { ...p, line: pos.line, col: pos.col } : p)));
      return undefined;
    }
  };
  const inManifest = (address: unknown, want: readonly ConnectionType[], path: readonly PathSeg[]) => resolve(address, want, path, manifest, dotted(path));
  inManifest(m.spec.sink.address, ['postgresql'], ['spec', 'sink', 'address']);
  if (m.spec.type === 'batch') {
    inManifest(m.spec.source.address, ['postgresql', 'mysql', 'mariadb'], ['spec', 'source', 'address']);
    return problems;
  }
  const source = inManifest(m.spec.source.address, ['kafka', 'postgresql', 'mysql', 'mariadb'], ['spec', 'source', 'address']);
  const optionsKafka = m.spec.source.options?.kafka;
  inManifest(optionsKafka, ['kafka'], ['spec', 'source', 'options', 'kafka']);
  // A database connection may name its Kafka itself; the manifest's options.kafka wins over it.
  if (source && source.type !== 'kafka' && optionsKafka === undefined) {
    const name = m.spec.source.address.slice('dataos://'.length);
    resolve(source.kafka, ['kafka'], ['connections', name, 'kafka'], file.src, `${file.path}: connections.${name}.kafka`);
  }
  return problems;
}

export function sslModeOf(v: unknown, field: string, problems: ConfigProblem[]): SslMode | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (SSL_MODES.includes(v as SslMode)) return v as SslMode;
  problems.push({ path: field, message: `sslmode must be one of ${SSL_MODES.join(', ')} (got "${String(v)}")` });
  return undefined;
}

export function portOf(v: unknown, field: string, problems: ConfigProblem[], dflt: number = DEFAULTS.pg.port): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    problems.push({ path: field, message: `port must be an integer 1..65535 (got "${String(v)}")` });
    return dflt;
  }
  return n;
}
