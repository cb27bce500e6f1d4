/**
 * The house's rules, checked by `npm run lint:deps` (part of `npm test`); docs/architecture.md says
 * the same in words. A new violation fails CI with the rule's name.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycle anywhere in src/: a cycle is a room that cannot be understood alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'kernel-imports-nothing-above',
      comment: 'src/kernel/ (types, errors, retry, events, text) imports only itself and Node.',
      severity: 'error',
      from: { path: '^src/kernel/' },
      to: { path: '^src/', pathNot: '^src/kernel/' },
    },
    {
      name: 'pure-stages-import-only-the-kernel',
      comment: 'src/buffer/ and src/copy-text/ are pure: only the kernel and each other.',
      severity: 'error',
      from: { path: '^src/(buffer|copy-text)/' },
      to: { path: '^src/', pathNot: '^src/(kernel|buffer|copy-text)/' },
    },
    {
      name: 'engine-imports-no-adapter',
      comment: 'src/engine/ imports its ports (engine/ports.ts), the kernel and the pure buffer; adapters implement the ports.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/', pathNot: '^src/(engine|kernel|buffer|copy-text)/' },
    },
    {
      name: 'engine-imports-no-driver',
      comment: 'src/engine/ does no I/O: no database or Kafka client, no Node I/O module.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'only-kafka-imports-kafkajs',
      comment: 'The Kafka stream lives in src/kafka/, the only importer of kafkajs and its codecs.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/kafka/' },
      to: { path: '^node_modules/(kafkajs|kafkajs-snappy|lz4-napi|fzstd)/' },
    },
    {
      name: 'only-pg-and-sinks-import-pg',
      comment: 'The PostgreSQL driver is used from src/pg/ (pool, COPY streams, identifiers, transactions) and the sinks (src/sink/, src/deadletter/); everyone else goes through src/pg/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(pg|sink|deadletter)/' },
      to: { path: '^node_modules/(pg|pg-copy-streams)/' },
    },
    {
      name: 'only-tables-import-mysql2',
      comment: 'MySQL/MariaDB is read by src/tables/ alone (verify and check use its connection helpers).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/tables/' },
      to: { path: '^node_modules/mysql2/' },
    },
    {
      name: 'adapters-never-import-the-cli-or-service',
      comment: 'src/cli/ and src/service/ wire everything; nothing imports them back.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|service)/' },
      to: { path: '^src/(cli|service)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.build.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
