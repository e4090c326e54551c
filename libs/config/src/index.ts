export {
  ConfigError,
  EXECUTION_PROVIDERS,
  loadConfigFromEnvironment,
  otelEnvironment,
  parseConfig,
} from './app-config.js';
export type { AppConfig, DicomwebAuth, ExecutionProviderName } from './app-config.js';
