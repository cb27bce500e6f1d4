/** KafkaConnection → kafkajs client settings. */
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { KafkaConnection } from '../config/types';

export function kafkaConfig(conn: KafkaConnection): KafkaConfig {
  const cfg: KafkaConfig = { clientId: conn.clientId, brokers: [...conn.brokers] };
  if (conn.ssl === true) cfg.ssl = true;
  else if (conn.ssl && typeof conn.ssl === 'object') {
    cfg.ssl = { rejectUnauthorized: conn.ssl.rejectUnauthorized, ...(conn.ssl.ca ? { ca: [conn.ssl.ca] } : {}) };
  }
  if (conn.sasl) {
    // The three mechanisms share one shape; kafkajs types them as a union, one member per mechanism.
    cfg.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } as SASLOptions;
  }
  return cfg;
}
