/**
 * Where the local test stack listens. The defaults match scripts/stack; the same
 * STACK_* variables move both. Integration tests fail fast, with the command to
 * run, when a server is not up.
 */
const env = (name: string, fallback: string) => process.env[name] || fallback;

export const stack = {
  kafkaBrokers: env('KAFKA_BROKERS', `127.0.0.1:${env('STACK_KAFKA_PORT', '19092')}`).split(','),
  orthancUrl: env('ORTHANC_URL', `http://127.0.0.1:${env('STACK_ORTHANC_PORT', '18042')}`),
  get dicomwebUrl() {
    return `${this.orthancUrl}/dicom-web`;
  },
  fhirBaseUrl: env('FHIR_BASE_URL', `http://127.0.0.1:${env('STACK_FHIR_PORT', '18080')}/fhir`),
};

export async function assertReachable(name: string, url: string): Promise<void> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  } catch (error) {
    throw new Error(
      `${name} is not reachable at ${url} (${String(error)}); start the stack with \`npm run stack:up\``,
      {
        cause: error,
      },
    );
  }
}
