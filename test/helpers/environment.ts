/**
 * Jest environment for integration tests: records whether any test or hook of the file failed,
 * so cleanup can keep the test's PostgreSQL schema for inspection (see dropTestSchemaUnlessFailed
 * in pg.ts). NILUS_KEEP_SCHEMAS=1 keeps them always.
 */
import NodeEnvironment from 'jest-environment-node';
import type { Circus } from '@jest/types';

export const FAILED_FLAG = '__nilusTestFailed';

export default class IntegrationEnvironment extends NodeEnvironment {
  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') {
      this.global[FAILED_FLAG] = true;
    }
  }
}
