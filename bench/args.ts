/** Command-line flags of `npm run bench`. Every problem names the flag and the fix. */

export const RUN_NAMES = [
  'merge', 'merge-threads', 'merge-soft', 'merge-filtered', 'merge-schemaless', 'merge-gzip', 'merge-wide', 'jdbc', 'pg-limit', 'append', 'latency', 'scale', 'consumer', 'decode',
  // Batch: a MySQL table into PostgreSQL (bench/runners/batch.ts); no Kafka.
  'batch-copy-limit', 'batch-replace', 'batch-merge', 'batch-merge-existing', 'batch-merge-changed', 'batch-verify',
] as const;
export type RunName = (typeof RUN_NAMES)[number];

export interface BenchArgs {
  readonly events: number;
  /** Events of the merge-wide backlog (8–16 KiB per row). */
  readonly wideEvents: number;
  readonly prefill: number;
  /** Rows of the batch runs' MySQL source table. */
  readonly batchRows: number;
  readonly latencySeconds: number;
  /** Events per second the latency producer holds: one latency run per rate. */
  readonly latencyRates: readonly number[];
  readonly runs: readonly RunName[];
  readonly quick: boolean;
  /** Directory for a `--cpu-prof` profile of the merge run's worker; undefined = no profile. */
  readonly profileDir?: string;
  /** Where the .md/.json results go. */
  readonly resultsDir: string;
  /** Reuse the topics of an earlier run with this id (same --events) instead of producing anew. */
  readonly topics?: string;
  /** memory_budget_bytes for every nilus-pg worker run; undefined = the worker's default. */
  readonly memoryBudget?: number;
  /** Node flags for every nilus-pg worker process (e.g. --max-old-space-size=160). */
  readonly workerNodeArgs: readonly string[];
  /** Further sink options for every nilus-pg worker run (--sink-option key=value, numbers as numbers). */
  readonly sinkOptions: Readonly<Record<string, string | number | boolean>>;
}

const USAGE = `usage: tsx bench/run.ts [--events N] [--wide-events N] [--prefill N] [--latency-seconds S] [--latency-rates R,R…] [--batch-rows N] [--skip-jdbc]
                          [--only ${RUN_NAMES.join(',')}] [--quick] [--profile DIR] [--results DIR]
                          [--topics BENCH_ID] [--memory-budget BYTES|NMiB] [--worker-node-args "FLAGS"]
                          [--sink-option KEY=VALUE]…`;

function count(flag: string, text: string | undefined, min: number): number {
  const n = Number(text?.replace(/_/g, ''));
  if (text === undefined || !Number.isInteger(n) || n < min) {
    throw new Error(`${flag} needs an integer ≥ ${min}, got ${JSON.stringify(text)}\n${USAGE}`);
  }
  return n;
}

/** Bytes, or mebibytes with a MiB suffix: 134217728, 128MiB. */
function bytes(flag: string, text: string | undefined): number {
  const m = /^(\d[\d_]*)(MiB)?$/.exec(text ?? '');
  const n = m ? Number(m[1]!.replace(/_/g, '')) * (m[2] ? 2 ** 20 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 2 ** 20) {
    throw new Error(`${flag} needs bytes ≥ 1048576 (or N MiB, e.g. 96MiB), got ${JSON.stringify(text)}\n${USAGE}`);
  }
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const quick = argv.includes('--quick');
  let events = quick ? 100_000 : 1_000_000;
  let wideEvents: number | undefined;
  let memoryBudget: number | undefined;
  let workerNodeArgs: string[] = [];
  const sinkOptions: Record<string, string | number | boolean> = {};
  let prefill = quick ? 1_000_000 : 10_000_000;
  let latencySeconds = quick ? 20 : 60;
  let latencyRates = [1000, 5000, 20000];
  let batchRows = quick ? 100_000 : 1_000_000;
  let runs: RunName[] = [...RUN_NAMES];
  let skipJdbc = false;
  let profileDir: string | undefined;
  let resultsDir = 'bench/results';
  let topics: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (flag) {
      case '--quick': break;
      case '--events': events = count(flag, next(), 1000); break;
      case '--wide-events': wideEvents = count(flag, next(), 1000); break;
      case '--memory-budget': memoryBudget = bytes(flag, next()); break;
      case '--worker-node-args': {
        workerNodeArgs = (next() ?? '').split(/\s+/).filter(Boolean);
        const bad = workerNodeArgs.filter((a) => !a.startsWith('--'));
        if (workerNodeArgs.length === 0 || bad.length > 0) {
          throw new Error(`--worker-node-args needs Node flags, e.g. "--max-old-space-size=160", got ${JSON.stringify(bad.join(' ') || '')}\n${USAGE}`);
        }
        break;
      }
      case '--sink-option': {
        const m = /^([\w.]+)=(.+)$/.exec(next() ?? '');
        if (!m) throw new Error(`--sink-option needs KEY=VALUE, e.g. batch.max_bytes=33554432\n${USAGE}`);
        const v = m[2]!;
        sinkOptions[m[1]!] = /^\d+$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
        break;
      }
      case '--prefill': prefill = count(flag, next(), 0); break;
      case '--latency-seconds': latencySeconds = count(flag, next(), 1); break;
      case '--latency-rates': latencyRates = (next() ?? '').split(',').map((r) => count(flag, r.trim(), 100)); break;
      case '--batch-rows': batchRows = count(flag, next(), 1000); break;
      case '--skip-jdbc': skipJdbc = true; break;
      case '--profile': profileDir = next(); break;
      case '--results': resultsDir = next() ?? resultsDir; break;
      case '--topics': {
        topics = next();
        if (!topics || !/^bench_\w+$/.test(topics)) {
          throw new Error(`--topics needs the id of an earlier run (bench_…, printed on its first line), got ${JSON.stringify(topics)}\n${USAGE}`);
        }
        break;
      }
      case '--only': {
        const list = (next() ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const bad = list.filter((s) => !(RUN_NAMES as readonly string[]).includes(s));
        if (list.length === 0 || bad.length > 0) {
          throw new Error(`--only: unknown run name(s) ${JSON.stringify(bad)}; choose from ${RUN_NAMES.join(', ')}\n${USAGE}`);
        }
        runs = list as RunName[];
        break;
      }
      case '--help': case '-h': throw new Error(USAGE);
      default: throw new Error(`unknown flag ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  if (skipJdbc) runs = runs.filter((r) => r !== 'jdbc');
  if (profileDir === '') throw new Error(`--profile needs a directory\n${USAGE}`);
  return {
    // merge-wide: 1/20 of the events (50,000 by default), each row 8–16 KiB: ~1 GB of raw records.
    events, wideEvents: wideEvents ?? Math.max(1000, Math.round(events / 20)), prefill, batchRows, latencySeconds, latencyRates, runs, quick, profileDir, resultsDir,
    ...(topics ? { topics } : {}), ...(memoryBudget !== undefined ? { memoryBudget } : {}), workerNodeArgs, sinkOptions,
  };
}
