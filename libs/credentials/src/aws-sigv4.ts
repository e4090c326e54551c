import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { AccessRefusedError } from '@app/errors';
import type { AuthProvider, SignedRequest } from './auth-provider.js';

/**
 * AWS Signature Version 4 (HealthImaging's DICOMweb: service `medical-imaging`), signed by the AWS
 * SDK's own signer. Each request is signed anew: its method, URL (path and sorted query) and body
 * hash are part of the signature, so the provider needs the request (AuthProvider.headers' argument).
 * Credentials come from the SDK's default provider chain (environment, shared files, web identity
 * as EKS IRSA/Pod Identity gives it, ECS, EC2 instance metadata), which caches and renews them.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface AwsSigV4Options {
  region: string;
  service: string;
  /** Default: the SDK's default provider chain. */
  credentials?: () => Promise<AwsCredentials>;
  /** For test vectors: the signing time. */
  now?: () => Date;
}

export function awsSigV4(options: AwsSigV4Options): AuthProvider {
  const credentials = options.credentials ?? defaultProvider();
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
    // x-amz-content-sha256 is S3's header; other services hash the body into the signature only.
    applyChecksum: false,
  });
  return {
    async headers(request?: SignedRequest) {
      if (!request) throw new TypeError('AWS SigV4 signs each request: the caller must pass it');
      const url = new URL(request.url);
      const host = url.host;
      let signed;
      try {
        signed = await signer.sign(
          {
            method: request.method,
            protocol: url.protocol,
            hostname: url.hostname,
            ...(url.port ? { port: Number(url.port) } : {}),
            path: url.pathname,
            query: queryOf(url),
            headers: { host },
            ...(request.body === undefined ? {} : { body: request.body }),
          },
          options.now ? { signingDate: options.now() } : {},
        );
      } catch (error) {
        // The provider chain found no credentials, or its source refused: nothing to sign with.
        throw new AccessRefusedError(`no AWS credentials to sign with (${errorName(error)})`);
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(signed.headers)) {
        if (name !== 'host') headers[name] = value;
      }
      return headers;
    },
  };
}

/** The query as the signer wants it: decoded names and values, repeated names as arrays. */
function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return query;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown error';
}
