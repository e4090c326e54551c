import { logLevel, type LogEntry } from 'kafkajs';

/** Where the Kafka clients log: the worker's JSON logger, or a test's. */
export type KafkaLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** A kafkajs log entry as one line of ours. */
export function kafkajsLog(log: KafkaLog, entry: LogEntry): void {
  const level =
    entry.level === logLevel.ERROR || entry.level === logLevel.NOTHING
      ? 'error'
      : entry.level === logLevel.WARN
        ? 'warn'
        : entry.level === logLevel.INFO
          ? 'info'
          : 'debug';
  const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry.log;
  log(level, `kafkajs ${entry.namespace}: ${message}`, fields);
}
