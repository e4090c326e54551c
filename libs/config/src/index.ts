export {
  ConfigError,
  EXECUTION_PROVIDERS,
  loadConfigFromEnvironment,
  otelEnvironment,
  parseConfig,
} from './app-config.js';
export type { AppConfig, ExecutionProviderName } from './app-config.js';
export {
  AWS_HEALTHIMAGING_SERVICE,
  AZURE_DICOM_SCOPE,
  CLIENT_SECRET_METHODS,
  GOOGLE_DEFAULT_SCOPE,
  HTTP_AUTH_KINDS,
} from './http-auth.js';
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
export type { CloudSource, CloudSourceKind, PushSettings } from './intake-cloud-sources.js';
