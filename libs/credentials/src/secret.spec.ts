import { mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransientError } from '@app/errors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialsFileError, secretOf } from './secret.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'secret-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('secretOf', () => {
  it('an inline value is itself', () => {
    expect(secretOf({ value: 'abc' }, 'X_PASSWORD')()).toBe('abc');
  });

  it('reads a file, dropping the trailing newline of a mounted Secret', () => {
    writeFileSync(join(dir, 'password'), 'pässword\n');
    expect(secretOf({ file: join(dir, 'password') }, 'X_PASSWORD_FILE')()).toBe('pässword');
  });

  it('picks up a file replaced in place (an editor, a sidecar) without a restart', () => {
    const path = join(dir, 'password');
    writeFileSync(path, 'first');
    const secret = secretOf({ file: path }, 'X_PASSWORD_FILE');
    expect(secret()).toBe('first');
    writeFileSync(`${path}.new`, 'second-and-longer');
    renameSync(`${path}.new`, path);
    expect(secret()).toBe('second-and-longer');
  });

  it('picks up a Kubernetes Secret update: the ..data symlink swapped to a new directory', () => {
    // The kubelet's layout: password -> ..data/password, ..data -> ..2026_12_07_v1
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'password'), 'first\n');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/password', join(dir, 'password'));
    const secret = secretOf({ file: join(dir, 'password') }, 'X_PASSWORD_FILE');
    expect(secret()).toBe('first');
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'password'), 'rotated\n');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    expect(secret()).toBe('rotated');
  });

  it('an unreadable file is a configuration error at start, and a transient one later', () => {
    expect(() => secretOf({ file: join(dir, 'missing') }, 'FHIR_CLIENT_SECRET_FILE')).toThrow(CredentialsFileError);
    expect(() => secretOf({ file: join(dir, 'missing') }, 'FHIR_CLIENT_SECRET_FILE')).toThrow(
      `cannot read FHIR_CLIENT_SECRET_FILE=${join(dir, 'missing')} (ENOENT)`,
    );
    const path = join(dir, 'password');
    writeFileSync(path, 'x');
    const secret = secretOf({ file: path }, 'X_PASSWORD_FILE');
    unlinkSync(path);
    expect(() => secret()).toThrow(TransientError);
  });
});
