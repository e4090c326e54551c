import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';

/**
 * The JWT a SMART Backend Services client signs to prove who it is at the token endpoint
 * (private_key_jwt, RFC 7523 §2.2; SMART App Launch 2.x "Backend Services"): iss = sub =
 * client_id, aud = the token endpoint's URL, a unique jti, and an exp at most five minutes away.
 */

export type AssertionAlgorithm = 'RS384' | 'ES384';

/** A private key ready to sign assertions, with the algorithm its type implies and its key id. */
export interface SigningKey {
  key: KeyObject;
  algorithm: AssertionAlgorithm;
  /** The JWK thumbprint (RFC 7638) of its public key: the `kid` when none is configured. */
  thumbprint: string;
}

/** SMART allows at most 300 s; a little less leaves room for clock skew. */
export const ASSERTION_LIFETIME_S = 240;
const MIN_RSA_BITS = 2048;

/** Parses a PEM private key; only RSA (≥ 2048 bits, RS384) and EC P-384 (ES384) are accepted. */
export function signingKeyFromPem(pem: string): SigningKey {
  const key = createPrivateKey(pem);
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS) {
    return { key, algorithm: 'RS384', thumbprint: thumbprint(key) };
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1') {
    return { key, algorithm: 'ES384', thumbprint: thumbprint(key) };
  }
  const found =
    key.asymmetricKeyType === 'ec'
      ? `EC ${details.namedCurve}`
      : `${key.asymmetricKeyType} ${details.modulusLength ?? ''}`;
  throw new TypeError(
    `the key is ${found.trim()}; SMART Backend Services needs RSA of at least ${MIN_RSA_BITS} bits (RS384) or EC P-384 (ES384)`,
  );
}

export interface AssertionClaims {
  clientId: string;
  /** The token endpoint's URL. */
  audience: string;
  keyId?: string;
  /** Seconds since the epoch. */
  nowS: number;
  jti?: string;
}

export function signClientAssertion(signingKey: SigningKey, claims: AssertionClaims): string {
  const header = { alg: signingKey.algorithm, typ: 'JWT', kid: claims.keyId ?? signingKey.thumbprint };
  const payload = {
    iss: claims.clientId,
    sub: claims.clientId,
    aud: claims.audience,
    iat: claims.nowS,
    exp: claims.nowS + ASSERTION_LIFETIME_S,
    jti: claims.jti ?? randomUUID(),
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  // JWS wants ECDSA signatures as r||s (IEEE P1363), not DER.
  const signature = sign('sha384', Buffer.from(signingInput), {
    key: signingKey.key,
    ...(signingKey.algorithm === 'ES384' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
  });
  return `${signingInput}.${signature.toString('base64url')}`;
}

function thumbprint(privateKey: KeyObject): string {
  return jwkThumbprint(createPublicKey(privateKey));
}

/** RFC 7638: SHA-256 over the required public members in lexicographic order. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const members =
    jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
