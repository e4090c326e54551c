import { describe, expect, it } from 'vitest';
import { awsSigV4 } from './aws-sigv4.js';

/**
 * AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite), transcribed: no package
 * on npm or PyPI ships its files (botocore's and aws4's tests stay in their repositories).
 * https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html
 * Every case: credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1,
 * service "service", X-Amz-Date 20150830T123600Z, host example.amazonaws.com, headers host and
 * x-amz-date signed (what this provider signs).
 */
const SUITE_CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const SCOPE = 'Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date';

const VECTORS = [
  {
    name: 'get-vanilla',
    method: 'GET',
    url: 'https://example.amazonaws.com/',
    signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    url: 'https://example.amazonaws.com/?Param2=value2&Param1=value1',
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
  },
  {
    name: 'post-vanilla',
    method: 'POST',
    url: 'https://example.amazonaws.com/',
    signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
  },
];

const suiteSigner = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
  awsSigV4({
    region: 'us-east-1',
    service: 'service',
    credentials: () => Promise.resolve(credentials),
    now: () => new Date('2015-08-30T12:36:00Z'),
  });

describe('awsSigV4', () => {
  for (const vector of VECTORS) {
    it(`signs the suite's ${vector.name} as AWS published`, async () => {
      const headers = await suiteSigner(SUITE_CREDENTIALS).headers({ method: vector.method, url: vector.url });
      expect(headers['authorization']).toBe(`AWS4-HMAC-SHA256 ${SCOPE}, Signature=${vector.signature}`);
      expect(headers['x-amz-date']).toBe('20150830T123600Z');
      expect(headers['host']).toBeUndefined(); // fetch sets it from the URL
    });
  }

  it('hashes the body into the signature (a STOW body changes it)', async () => {
    const signer = suiteSigner(SUITE_CREDENTIALS);
    const empty = await signer.headers({ method: 'POST', url: 'https://example.amazonaws.com/' });
    const withBody = await signer.headers({
      method: 'POST',
      url: 'https://example.amazonaws.com/',
      body: new Uint8Array([1, 2, 3]),
    });
    expect(withBody['authorization']).not.toBe(empty['authorization']);
  });

  it('sends a session token (temporary credentials, IRSA) as x-amz-security-token', async () => {
    const headers = await suiteSigner({ ...SUITE_CREDENTIALS, sessionToken: 'session-token' }).headers({
      method: 'GET',
      url: 'https://dicom-medical-imaging.us-east-1.amazonaws.com/datastore/d1/studies?limit=1',
    });
    expect(headers['x-amz-security-token']).toBe('session-token');
    expect(headers['authorization']).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token');
  });

  it('refuses to sign without the request, and turns missing credentials into an access refusal', async () => {
    await expect(suiteSigner(SUITE_CREDENTIALS).headers()).rejects.toThrow(/must pass it/);
    const none = awsSigV4({
      region: 'us-east-1',
      service: 'medical-imaging',
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
    });
    await expect(none.headers({ method: 'GET', url: 'https://example.amazonaws.com/' })).rejects.toThrow(
      /no AWS credentials to sign with/,
    );
  });
});
