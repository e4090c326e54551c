import { readFileSync } from 'node:fs';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { CredentialsFileError } from './secret.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Adds the CAs of a PEM bundle (HTTPS_CA_FILE: a hospital's own CA) to the ones every TLS
 * client of this process trusts by default: fetch (DICOMweb, FHIR, token endpoints) and the
 * OTLP exporter. Kafka keeps its own trust (KAFKA_SSL_CA_FILE). Read once, at start-up.
 * Returns how many certificates were added.
 */
export function trustCertificateAuthorities(path: string, setting = 'HTTPS_CA_FILE'): number {
  let certificates: string[];
  try {
    certificates = readFileSync(path, 'utf8').match(PEM_CERTIFICATE) ?? [];
    if (certificates.length === 0) throw new Error('no PEM certificate in it');
    for (const pem of certificates) {
      if (!new X509Certificate(pem).ca) throw new Error('a certificate in it is not a CA');
    }
  } catch (error) {
    throw new CredentialsFileError(setting, path, error);
  }
  const current = new Set(getCACertificates('default'));
  setDefaultCACertificates([...current, ...certificates.filter((pem) => !current.has(pem))]);
  return certificates.length;
}
