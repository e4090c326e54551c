import type { LoggerService } from '@nestjs/common';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'verbose';
const RANK: Record<LogLevel, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5 };

export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

/**
 * One JSON object per line on stdout: time, level, msg and fields. The study UID and the
 * event id are the correlation ids; callers pass UIDs, codes and numbers only, never
 * patient names, IDs or dates. Also Nest's logger, so the framework logs the same way.
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly fields: LogFields = {},
    private readonly sink: LogSink = (line) => void process.stdout.write(line),
  ) {}

  /** A logger that adds these fields (e.g. studyInstanceUid) to every line. */
  child(fields: LogFields): JsonLogger {
    return new JsonLogger(this.level, { ...this.fields, ...fields }, this.sink);
  }

  write(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (RANK[level] > RANK[this.level]) return;
    const entry = { time: new Date().toISOString(), level, msg, ...this.fields, ...fields };
    this.sink(`${JSON.stringify(entry, replacer)}\n`);
  }

  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }

  // ---- LoggerService (Nest passes the context as the last string argument) ----

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', String(message), nestContext(rest));
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message instanceof Error ? message.message : String(message), nestContext(rest));
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', String(message), nestContext(rest));
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', String(message), nestContext(rest));
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', String(message), nestContext(rest));
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', String(message), nestContext(rest));
  }
}

function nestContext(rest: unknown[]): LogFields {
  const context = rest.at(-1);
  return typeof context === 'string' ? { context } : {};
}

/** Errors as their name and message (no stack in one-line logs); bigints as strings. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
