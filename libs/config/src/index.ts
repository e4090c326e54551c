export {
  ConfigError,
  EXECUTION_PROVIDERS,
  loadConfigFromEnvironment,
  otelEnvironment,
  parseConfig,
} from './app-config.js';
export type { AppConfig, ExecutionProviderName } from './app-config.js';
export { CLIENT_SECRET_METHODS, HTTP_AUTH_KINDS } from './http-auth.js';
export type { ClientSecretMethod, HttpAuth, HttpAuthKind } from './http-auth.js';
export { KAFKA_SASL_MECHANISMS, KAFKA_SECURITY_PROTOCOLS } from './kafka-security.js';
export type {
  KafkaOAuthClient,
  KafkaSasl,
  KafkaSaslMechanism,
  KafkaSecurity,
  KafkaSecurityProtocol,
  KafkaTlsFiles,
} from './kafka-security.js';
export type { SecretSource } from './secret-source.js';
export { INTAKE_SOURCE_KINDS, loadIntakeConfigFromEnvironment, parseIntakeConfig } from './intake-config.js';
export type { IntakeConfig, IntakeSourceKind } from './intake-config.js';
