export {
  ConfigError,
  EXECUTION_PROVIDERS,
  loadConfigFromEnvironment,
  otelEnvironment,
  parseConfig,
} from './app-config.js';
export type { AppConfig, DicomwebAuth, ExecutionProviderName } from './app-config.js';
export { KAFKA_SASL_MECHANISMS, KAFKA_SECURITY_PROTOCOLS } from './kafka-security.js';
export type {
  KafkaSasl,
  KafkaSaslMechanism,
  KafkaSecurity,
  KafkaSecurityProtocol,
  KafkaTlsFiles,
  SecretSource,
} from './kafka-security.js';
