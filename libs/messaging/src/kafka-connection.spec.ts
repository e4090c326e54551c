import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthenticationProviderArgs, Mechanism, SaslAuthenticateArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  kafkaSecurityOptions,
  KafkaSettingsFileError,
  openKafkaConnection,
  type KafkaConnection,
} from './kafka-connection.js';

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

/** A token endpoint that hands out numbered tokens living `expiresIn` seconds. */
const tokenEndpoint = (expiresIn = 300) => {
  const requests: { authorization: string | null; body: string }[] = [];
  const fetch = (async (_url: string, init: RequestInit) => {
    requests.push({ authorization: new Headers(init.headers).get('authorization'), body: init.body as string });
    return Response.json({ access_token: `token-${requests.length}`, token_type: 'Bearer', expires_in: expiresIn });
  }) as typeof globalThis.fetch;
  return { fetch, requests };
};
/** Runs the kafkajs authentication provider with a fake broker answering `challenge`. */
const authenticate = async (connection: KafkaConnection, challenge = Buffer.alloc(0)) => {
  const sent: Buffer[] = [];
  const { sasl } = kafkaSecurityOptions(connection) as { sasl: Mechanism };
  const framed = Buffer.alloc(4 + challenge.length);
  framed.writeInt32BE(challenge.length, 0);
  challenge.copy(framed, 4);
  const saslAuthenticate = (async ({ request, response }: SaslAuthenticateArgs<unknown>) => {
    const bytes = await request.encode();
    sent.push(bytes.subarray(4, 4 + bytes.readInt32BE(0)));
    return response ? response.parse(await response.decode(framed)) : undefined;
  }) as AuthenticationProviderArgs['saslAuthenticate'];
  const logger = {} as AuthenticationProviderArgs['logger'];
  await sasl.authenticationProvider({ host: 'broker', port: 9096, logger, saslAuthenticate }).authenticate();
  return sent.map((b) => b.toString('latin1'));
};

describe('OAUTHBEARER (SASL_SSL with an OAuth2 access token)', () => {
  const secretFile = file('kafka-client-secret', 'client-s3cret\n');
  const security = {
    protocol: 'SASL_SSL' as const,
    tls: { caFile: ca },
    sasl: {
      mechanism: 'oauthbearer' as const,
      client: {
        kind: 'client-credentials' as const,
        tokenUrl: 'https://idp.example/oauth2/token',
        clientId: 'triage-kafka',
        scope: 'kafka',
        clientSecret: { file: secretFile },
        method: 'client_secret_basic' as const,
      },
    },
  };
  it('sends the GS2 message of RFC 7628 with a token of the client_credentials grant, over TLS', async () => {
    const endpoint = tokenEndpoint();
    const connection = openKafkaConnection({ ...base, security }, { fetch: endpoint.fetch });
    const options = kafkaSecurityOptions(connection);
    expect(options.ssl).toEqual({ rejectUnauthorized: true, ca: [expect.stringContaining('BEGIN CERTIFICATE')] });
    expect(options.sasl).toMatchObject({ mechanism: 'oauthbearer' });
    expect(await authenticate(connection)).toEqual(['n,,\u0001auth=Bearer token-1\u0001\u0001']);
    expect(endpoint.requests).toEqual([
      {
        authorization: `Basic ${Buffer.from('triage-kafka:client-s3cret').toString('base64')}`,
        body: 'grant_type=client_credentials&scope=kafka',
      },
    ]);
    expect(JSON.stringify(connection)).not.toContain('client-s3cret');
  });

  it('every client and every (re)authentication shares one cached token', async () => {
    const endpoint = tokenEndpoint();
    const connection = openKafkaConnection({ ...base, security }, { fetch: endpoint.fetch });
    const sent = await Promise.all([authenticate(connection), authenticate(connection), authenticate(connection)]);
    expect(sent.flat()).toEqual(Array(3).fill('n,,\u0001auth=Bearer token-1\u0001\u0001'));
    expect(endpoint.requests).toHaveLength(1);
  });

  it('a broker that answers with an error challenge refused the token: %x01, then a SASL authentication error', async () => {
    const connection = openKafkaConnection({ ...base, security }, { fetch: tokenEndpoint().fetch });
    const challenge = Buffer.from('{"status":"invalid_token"}');
    const error = await authenticate(connection, challenge).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({
      name: 'KafkaJSSASLAuthenticationError',
      retriable: false,
      message: 'SASL OAUTHBEARER authentication failed: the broker refused the token (invalid_token)',
    });
  });

  it('a refusal at the token endpoint is its own error (AccessRefusedError), before any bytes reach the broker', async () => {
    const refusing = (async () =>
      Response.json(
        { error: 'invalid_client', error_description: 'secret-ish detail' },
        { status: 401 },
      )) as typeof fetch;
    const connection = openKafkaConnection({ ...base, security }, { fetch: refusing });
    const error = await authenticate(connection).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({
      name: 'AccessRefusedError',
      message: 'the token endpoint https://idp.example refused client triage-kafka: invalid_client',
    });
  });

  it('an unreadable client secret file fails at once, naming the setting', () => {
    const missing = {
      ...security,
      sasl: { ...security.sasl, client: { ...security.sasl.client, clientSecret: { file: join(dir, 'none') } } },
    };
    expect(() => openKafkaConnection({ ...base, security: missing })).toThrow(
      /^cannot read KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE=.*none \(ENOENT\)$/,
    );
  });
});
