/**
 * The HTTP client under every DICOMweb and FHIR request is the undici that Node
 * bundles. Before 8.6 it crashed the whole process (an uncatchable AssertionError,
 * undici issue 5360) when a server closed a connection whose response we were
 * reading slowly, which is how a series is streamed. Node 24 bundles 7.x.
 */
const FIXED_UNDICI = [8, 6, 0] as const;

/** Why this runtime must not run the worker, or undefined when it may. */
export function httpRuntimeProblem(undiciVersion: string | undefined): string | undefined {
  const parts = /^(\d+)\.(\d+)\.(\d+)/.exec(undiciVersion ?? '');
  const version = parts ? parts.slice(1).map(Number) : undefined;
  if (version && compare(version, FIXED_UNDICI) >= 0) return undefined;
  return (
    `Node ${process.version} bundles undici ${undiciVersion ?? '(unknown)'}, which crashes the process when an ` +
    `archive closes a connection while a series is being read (undici issue 5360); run the Node version in .nvmrc ` +
    `(undici ${FIXED_UNDICI.join('.')} or later)`
  );
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
