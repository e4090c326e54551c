// The logger moved to @app/service (shared with the intake); kept here for the worker's imports.
export { JsonLogger } from '@app/service';
export type { LogFields, LogLevel, LogSink } from '@app/service';
