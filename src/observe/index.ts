/** What the CLI wires at start-up: logs, metrics, health and the HTTP endpoints, all fed by CoreEmitter. */
export { createLogger, childLogger, flushLogSampler, scrubSecrets, MASK } from './logger';
export type { Logger, LoggerOptions, LogLevel, LogScope, LogDestination, FlushSummary, FlushLogSampler } from './logger';
export { attachLogging, type LogEventsOptions, type LogSubscription } from './log-events';
export { createMetrics, type Metrics } from './metrics';
export { createHealthTracker, type HealthState, type HealthTracker, type HealthTrackerOptions, type Requirement } from './health';
export { startHttpServer, type HttpServerOptions, type RunningHttpServer } from './http';
