/** Unit tests (pure code) are test/unit/ (*.test.ts); integration tests (real Kafka,
 *  PostgreSQL, Debezium) are test/it/ (*.it.ts). `npm test` runs both projects. */
const tsJest = ['ts-jest', { isolatedModules: true, diagnostics: false }];
module.exports = {
  // Integration tests wait on real brokers and databases; unit tests finish far sooner.
  testTimeout: 180000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'integration',
      roots: ['<rootDir>/test/it'],
      testMatch: ['**/*.it.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: '<rootDir>/test/helpers/environment.ts',
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      maxWorkers: 1,
    },
  ],
};
