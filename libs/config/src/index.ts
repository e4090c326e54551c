export { ConfigError, loadConfigFromEnvironment, parseConfig } from './app-config.js';
export type { AppConfig, DicomwebAuth } from './app-config.js';
