/**
 * The sink's PostgreSQL side as start-up makes it: the pool (made once, its clients watched) and
 * the applier with its offsets table. `open()` is called inside retries until PostgreSQL answers,
 * by the CDC core's start-up and by a batch run alike.
 */
import type { Pool } from 'pg';
import type { PipelineConfig } from '../config/types';
import type { CoreEmitter } from '../kernel/events';
import { createPool } from '../pg/pool';
import { PgApplier } from './pg-applier';
import type { Logger } from '../observe/logger';

export class SinkConnection {
  pool: Pool | undefined;
  applier: PgApplier | undefined;

  constructor(
    private readonly cfg: PipelineConfig,
    private readonly emitter: CoreEmitter,
    private readonly log: Logger,
    private readonly watch: (pool: Pool) => void,
  ) {}

  async open(): Promise<{ pool: Pool; applier: PgApplier }> {
    if (!this.pool) {
      this.pool = await createPool(this.cfg.sink.pg);
      this.watch(this.pool);
    }
    this.applier ??= new PgApplier(this.pool, this.cfg.sink.options, { emitter: this.emitter, log: (msg, fields) => this.log.info(fields ?? {}, msg) });
    await this.applier.init();
    return { pool: this.pool, applier: this.applier };
  }
}
