import { readFileSync, statSync } from 'node:fs';
import type { SecretSource } from '@app/config';
import { TransientError } from '@app/errors';

/**
 * A secret's current value. A file (the Kubernetes Secret mount convention, …_FILE) is read
 * at start-up and read again whenever it changes, so a rotated password, client secret, token
 * or key takes effect without a restart. Kubernetes swaps a mounted Secret by replacing a
 * symbolic link, which gives the file a new inode: a stat on each use notices it.
 */
export type Secret = () => string;

/** A file named by a credentials setting cannot be read at start-up: a configuration error (exit 78). */
export class CredentialsFileError extends Error {
  constructor(
    readonly setting: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot read ${setting}=${path} (${errorCode(cause)})`, { cause });
    this.name = 'CredentialsFileError';
  }
}

/** `setting` names the variable, for messages (never the value). */
export function secretOf(source: SecretSource, setting: string): Secret {
  if ('value' in source) return () => source.value;
  return watchedFile(source.file, setting, (text) => text.replace(/\r?\n$/, ''));
}

/**
 * A file's content, parsed, re-read when its inode, size or modification time changes.
 * Throws CredentialsFileError now when it cannot be read; later, a file that vanished or
 * cannot be parsed is a TransientError (the study waits until the mount is repaired).
 */
export function watchedFile<T>(path: string, setting: string, parse: (text: string) => T): () => T {
  const read = () => {
    const stat = statSync(path);
    return { version: `${stat.ino}:${stat.size}:${stat.mtimeMs}`, value: parse(readFileSync(path, 'utf8')) };
  };
  let current: { version: string; value: T };
  try {
    current = read();
  } catch (error) {
    throw new CredentialsFileError(setting, path, error);
  }
  return () => {
    try {
      const stat = statSync(path);
      if (`${stat.ino}:${stat.size}:${stat.mtimeMs}` !== current.version) current = read();
    } catch (error) {
      throw new TransientError(`cannot read ${setting}=${path} (${errorCode(error)})`, { cause: error });
    }
    return current.value;
  };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}
