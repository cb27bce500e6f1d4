/**
 * The decode-and-route half of a CDC pipeline, made one way for the running pipeline
 * (./cdc-service.ts) and for a replay of dead letters (./replay.ts): the decoder with the
 * manifest's options, the router with the tables nilus writes itself reserved, and the intake that
 * decodes, routes and buffers one record.
 */
import type { PipelineConfig } from '../config/types';
import { requirePrimaryKey } from '../config';
import { FatalError } from '../kernel/errors';
import type { TableRef } from '../kernel/types';
import type { BufferSet } from '../buffer';
import { Decoder, type DecoderOptions } from '../decode/decoder';
import { Intake } from '../engine/intake';
import { Router } from '../engine/route';
import { reservedTables } from '../sink/reserved';

export function decoderOptionsOf(cfg: PipelineConfig): DecoderOptions {
  const cdc = cfg.cdc;
  if (!cdc) throw new FatalError('a cdc pipeline needs spec.source.cdc');
  return {
    topicPrefix: cdc.topicPrefix,
    mongoMode: cfg.sink.options.mongoMode,
    ...(cdc.binaryHandlingMode === 'hex' ? { binaryStringMode: 'hex' as const } : {}),
    ...(cfg.sink.options.columns ? { columns: cfg.sink.options.columns } : {}),
  };
}

export function createIntake(cfg: PipelineConfig, dest: TableRef, buffers: BufferSet): { intake: Intake; router: Router; decoder: Decoder } {
  const { strategy } = cfg.sink.options;
  if (strategy === 'replace') throw new FatalError('replace is not a cdc strategy'); // refused by config already
  const decoder = new Decoder(decoderOptionsOf(cfg));
  const router = new Router(dest, { reserved: reservedTables(cfg) });
  const intake = new Intake({
    decoder,
    router,
    keys: (ev, target) => requirePrimaryKey(cfg, ev.keyColumns, ev.table, { pos: ev.pos, target }),
    strategy,
    ...(cfg.sink.options.primaryKey ? { primaryKey: cfg.sink.options.primaryKey } : {}),
    buffers,
  });
  return { intake, router, decoder };
}
