import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ASSERTION_LIFETIME_S, jwkThumbprint, signClientAssertion, signingKeyFromPem } from './client-assertion.js';

const pem = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });

function decode(jwt: string) {
  const [header, payload, signature] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
    signingInput: Buffer.from(`${header}.${payload}`),
    signature: Buffer.from(signature, 'base64url'),
  };
}

describe('signClientAssertion (SMART Backend Services)', () => {
  const claims = { clientId: 'triage-worker', audience: 'https://auth.example.org/oauth2/token', nowS: 1_800_000_000 };

  it('RS384: iss = sub = client_id, aud = token URL, exp within 5 minutes, a fresh jti, a verifiable signature', () => {
    const key = signingKeyFromPem(pem(rsa.privateKey));
    const first = decode(signClientAssertion(key, claims));
    const second = decode(signClientAssertion(key, claims));
    expect(first.header).toEqual({ alg: 'RS384', typ: 'JWT', kid: key.thumbprint });
    expect(first.payload).toMatchObject({
      iss: 'triage-worker',
      sub: 'triage-worker',
      aud: claims.audience,
      iat: claims.nowS,
      exp: claims.nowS + ASSERTION_LIFETIME_S,
    });
    expect(ASSERTION_LIFETIME_S).toBeLessThanOrEqual(300);
    expect(first.payload['jti']).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.payload['jti']).not.toBe(first.payload['jti']);
    expect(verify('sha384', first.signingInput, rsa.publicKey, first.signature)).toBe(true);
  });

  it('ES384: a 96-byte r||s signature (JWS), not DER, and the configured kid', () => {
    const key = signingKeyFromPem(pem(ec384.privateKey));
    const jwt = decode(signClientAssertion(key, { ...claims, keyId: 'key-2026' }));
    expect(jwt.header).toEqual({ alg: 'ES384', typ: 'JWT', kid: 'key-2026' });
    expect(jwt.signature).toHaveLength(96);
    expect(verify('sha384', jwt.signingInput, { key: ec384.publicKey, dsaEncoding: 'ieee-p1363' }, jwt.signature)).toBe(
      true,
    );
  });

  it('refuses keys SMART does not allow, naming what it found', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => signingKeyFromPem(pem(p256))).toThrow(/EC prime256v1.*RS384.*ES384/);
    expect(() => signingKeyFromPem(pem(rsa1024))).toThrow(/rsa 1024/);
    expect(() => signingKeyFromPem('not a key')).toThrow(/.+/);
  });

  it('computes the RFC 7638 thumbprint of the RFC example key', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    const publicKey = createPublicKey({ key: { kty: 'RSA', n, e: 'AQAB' }, format: 'jwk' });
    expect(jwkThumbprint(publicKey)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});
