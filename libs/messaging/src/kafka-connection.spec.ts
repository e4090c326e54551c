import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaSecurityOptions, KafkaSettingsFileError, openKafkaConnection } from './kafka-connection.js';

const dir = mkdtempSync(join(tmpdir(), 'kafka-connection-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
const cert = file('client.crt', 'CERT');
const key = file('client.key', 'KEY');
const passwordFile = file('password', 's3cret-from-file\n');
const base = { brokers: ['broker:9093'], clientId: 'worker' };

describe('kafkaSecurityOptions (one place for the kafkajs ssl and sasl options)', () => {
  it('sets nothing for PLAINTEXT', () => {
    expect(kafkaSecurityOptions(openKafkaConnection({ ...base, security: { protocol: 'PLAINTEXT' } }))).toEqual({});
  });

  it('trusts the CA file and presents the client certificate for SSL (mutual TLS)', () => {
    const connection = openKafkaConnection({
      ...base,
      security: { protocol: 'SSL', tls: { caFile: ca, clientCertificate: { certFile: cert, keyFile: key } } },
    });
    expect(kafkaSecurityOptions(connection)).toEqual({
      ssl: { rejectUnauthorized: true, ca: [expect.stringContaining('BEGIN CERTIFICATE')], cert: 'CERT', key: 'KEY' },
    });
  });

  it('trusts the system CAs when no CA file is set', () => {
    const connection = openKafkaConnection({ ...base, security: { protocol: 'SSL', tls: {} } });
    expect(kafkaSecurityOptions(connection)).toEqual({ ssl: { rejectUnauthorized: true } });
  });

  it('adds SCRAM-SHA-512 with the password from its file, without the trailing newline, for SASL_SSL', () => {
    const connection = openKafkaConnection({
      ...base,
      security: {
        protocol: 'SASL_SSL',
        tls: { caFile: ca },
        sasl: { mechanism: 'scram-sha-512', username: 'triage', password: { file: passwordFile } },
      },
    });
    expect(kafkaSecurityOptions(connection)).toMatchObject({
      ssl: { rejectUnauthorized: true, ca: [expect.any(String)] },
      sasl: { mechanism: 'scram-sha-512', username: 'triage', password: 's3cret-from-file' },
    });
  });

  it('takes an inline password as it is', () => {
    const connection = openKafkaConnection({
      ...base,
      security: {
        protocol: 'SASL_SSL',
        tls: {},
        sasl: { mechanism: 'scram-sha-512', username: 'triage', password: { value: 'inline' } },
      },
    });
    expect(kafkaSecurityOptions(connection).sasl).toMatchObject({ password: 'inline' });
  });
});

describe('openKafkaConnection', () => {
  it('names the setting whose file cannot be read', () => {
    const missing = join(dir, 'missing.pem');
    const open = () => openKafkaConnection({ ...base, security: { protocol: 'SSL', tls: { caFile: missing } } });
    expect(open).toThrow(KafkaSettingsFileError);
    expect(open).toThrow(`cannot read KAFKA_SSL_CA_FILE=${missing} (ENOENT)`);
  });

  it('keeps the secrets out of JSON (logs)', () => {
    const connection = openKafkaConnection({
      ...base,
      security: {
        protocol: 'SASL_SSL',
        tls: {},
        sasl: { mechanism: 'scram-sha-512', username: 'triage', password: { file: passwordFile } },
      },
    });
    expect(JSON.stringify(connection)).not.toContain('s3cret-from-file');
  });
});
