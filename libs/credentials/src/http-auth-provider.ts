import type { HttpAuth } from '@app/config';
import { basicAuth, bearerToken, noAuth, type AuthProvider, type TokenSource } from './auth-provider.js';
import { awsSigV4 } from './aws-sigv4.js';
import { azureTokens } from './azure-tokens.js';
import { signingKeyFromPem } from './client-assertion.js';
import { googleTokens } from './google-tokens.js';
import { clientCredentialsTokens, type ClientCredentialsOptions } from './client-credentials.js';
import { secretOf, watchedFile } from './secret.js';

export interface HttpAuthContext {
  /** The settings' prefix (DICOMWEB, FHIR, KAFKA_SASL_OAUTH): messages name the variable, e.g. FHIR_CLIENT_SECRET_FILE. */
  settings: string;
  fetch?: typeof fetch;
  onToken?: ClientCredentialsOptions['onToken'];
}

/**
 * The provider for one server's validated settings (<PREFIX>_AUTH and friends). Files are read
 * now (CredentialsFileError when one cannot be; a private key of the wrong kind is one too)
 * and again whenever they change.
 */
export function httpAuthProvider(auth: HttpAuth, context: HttpAuthContext): AuthProvider {
  const setting = (name: string) => `${context.settings}_${name}`;
  switch (auth.kind) {
    case 'none':
      return noAuth();
    case 'basic':
      return basicAuth(
        auth.username,
        secretOf(auth.password, setting('file' in auth.password ? 'PASSWORD_FILE' : 'PASSWORD')),
      );
    case 'bearer':
      return bearerToken({ secret: secretOf(auth.token, setting('file' in auth.token ? 'TOKEN_FILE' : 'TOKEN')) });
    case 'client-credentials':
    case 'private-key-jwt':
      return bearerToken(oauthClientTokens(auth, context));
    case 'google':
      return bearerToken(
        googleTokens({
          scope: auth.scope,
          setting: setting('GOOGLE_KEY_FILE'),
          ...(auth.keyFile === undefined ? {} : { keyFile: auth.keyFile }),
          ...(context.fetch ? { fetch: context.fetch } : {}),
          ...(context.onToken ? { onToken: context.onToken } : {}),
        }),
      );
    case 'azure':
      return bearerToken(azureTokens(auth, context));
    case 'aws-sigv4':
      return awsSigV4({ region: auth.region, service: auth.service });
  }
}

/** An OAuth2 client of the settings (client secret or private_key_jwt). */
export type OAuthClientSettings = Extract<HttpAuth, { kind: 'client-credentials' | 'private-key-jwt' }>;

/**
 * The TokenSource of an OAuth2 client's validated settings (any prefix: FHIR, DICOMWEB,
 * KAFKA_SASL_OAUTH): a client_credentials grant with its secret or a signed assertion. The secret
 * or key file is read now (CredentialsFileError naming `${context.settings}_…`) and again when it
 * changes. Uncached: wrap it in bearerToken() or tokenCache().
 */
export function oauthClientTokens(auth: OAuthClientSettings, context: HttpAuthContext): TokenSource {
  const setting = (name: string) => `${context.settings}_${name}`;
  const authentication: ClientCredentialsOptions['authentication'] =
    auth.kind === 'client-credentials'
      ? {
          method: auth.method,
          secret: secretOf(
            auth.clientSecret,
            setting('file' in auth.clientSecret ? 'CLIENT_SECRET_FILE' : 'CLIENT_SECRET'),
          ),
        }
      : {
          method: 'private_key_jwt',
          signingKey: watchedFile(auth.privateKeyFile, setting('PRIVATE_KEY_FILE'), signingKeyFromPem),
          ...(auth.keyId === undefined ? {} : { keyId: auth.keyId }),
        };
  return clientCredentialsTokens({
    tokenUrl: auth.tokenUrl,
    clientId: auth.clientId,
    ...(auth.scope === undefined ? {} : { scope: auth.scope }),
    authentication,
    ...(context.fetch ? { fetch: context.fetch } : {}),
    ...(context.onToken ? { onToken: context.onToken } : {}),
  });
}
