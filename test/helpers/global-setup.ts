// Placeholder until the local stack lands: NILUS_STACK=skip runs integration tests against
// the machine's PostgreSQL only.
export default async function globalSetup(): Promise<void> {
  if (process.env.NILUS_STACK !== 'skip') {
    throw new Error('the local stack is not wired yet; run with NILUS_STACK=skip');
  }
}
