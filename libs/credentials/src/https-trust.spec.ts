import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CredentialsFileError } from './secret.js';
import { trustCertificateAuthorities } from './https-trust.js';

const dir = mkdtempSync(join(tmpdir(), 'trust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** <name>.pem: a self-signed EC certificate, a CA or not. */
function selfSigned(name: string, ca: boolean): void {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];
  args.push('-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`);
  args.push('-addext', `basicConstraints=critical,CA:${ca ? 'TRUE' : 'FALSE'}`);
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** Compared by fingerprint: Node's default list repeats some roots in other PEM line breaks. */
function trusted(): Set<string> {
  return new Set(getCACertificates('default').map((pem) => new X509Certificate(pem).fingerprint256));
}

describe('trustCertificateAuthorities', () => {
  it('refuses a file that is missing, holds no certificate, or holds a certificate that is not a CA', () => {
    expect(() => trustCertificateAuthorities(join(dir, 'missing.pem'))).toThrow(CredentialsFileError);
    writeFileSync(join(dir, 'empty.pem'), 'nothing here');
    expect(() => trustCertificateAuthorities(join(dir, 'empty.pem'))).toThrow(/HTTPS_CA_FILE=.*no PEM certificate/);
    selfSigned('leaf', false);
    expect(() => trustCertificateAuthorities(join(dir, 'leaf.pem'))).toThrow(/not a CA/);
  });

  it('adds a CA bundle to the default trust once', () => {
    selfSigned('ca', true);
    const before = trusted();
    const ours = new X509Certificate(readFileSync(join(dir, 'ca.pem'))).fingerprint256;
    expect(before.has(ours)).toBe(false);
    expect(trustCertificateAuthorities(join(dir, 'ca.pem'))).toBe(1);
    expect(trustCertificateAuthorities(join(dir, 'ca.pem'))).toBe(1);
    const after = trusted();
    expect(after).toEqual(new Set([...before, ours]));
  });
});
