import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The chart against a real Kubernetes API server: every charts/covid-ct-triage/ci/*-values.yaml is
 * rendered and applied with server-side dry-run (strict field validation) to the kube-apiserver and
 * etcd that scripts/k8s/apiserver.sh builds from the Go module proxy, with KEDA's and
 * prometheus-operator's CRDs installed from their Go modules. Skips, saying why, where that build is
 * not in the cache (`bash scripts/k8s/apiserver.sh build`; scripts/test-all.sh builds it).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'charts/covid-ct-triage');
const cacheDir = process.env.TRIAGE_CACHE_DIR || join(ROOT, '.cache');
const built = ['kube-apiserver', 'kubectl', 'etcd'].every((name) => existsSync(join(cacheDir, 'k8s/bin', name)));
const helm = [join(cacheDir, 'helm/bin/helm'), ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'helm'))].some(
  (path) => existsSync(path),
);
if (!built) console.warn('kube-apiserver not built (bash scripts/k8s/apiserver.sh build); skipping the dry-run');
const CI_VALUES = readdirSync(join(CHART, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .toSorted();

const script = (name: string, ...args: string[]) => {
  const result = spawnSync('bash', [join(ROOT, 'scripts/k8s', name), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

/** What dry-run.sh printed for every ci/ values file (one run, in beforeAll). */
let report = '';
/** Its line for one values file; the whole report where there is none (so that a failure shows it). */
const lineFor = (file: string) => report.split('\n').find((line) => line.includes(`/ci/${file}`)) ?? report;

describe.skipIf(!built || !helm)('the chart against a real kube-apiserver (server-side dry-run)', () => {
  let startedHere = false;
  const work = mkdtempSync(join(tmpdir(), 'chart-dry-run-'));

  beforeAll(() => {
    startedHere = !/^kube-apiserver ready/m.test(script('apiserver.sh', 'status').stdout);
    const started = script('apiserver.sh', 'start');
    if (started.code !== 0) throw new Error(`apiserver.sh start failed:\n${started.stderr}`);
    const run = script('dry-run.sh', ...CI_VALUES.map((file) => join(CHART, 'ci', file)));
    report = run.stdout + run.stderr;
  }, 180_000);

  afterAll(() => {
    if (startedHere) script('apiserver.sh', 'stop');
    rmSync(work, { recursive: true, force: true });
  });

  it('installed the KEDA and ServiceMonitor CRDs from their Go modules', () => {
    expect(report).toMatch(/CRDs installed: ScaledObject, TriggerAuthentication \(github.com\/kedacore\/keda\/v2@v/);
  });

  it.each(CI_VALUES)('accepts every object rendered from ci/%s', (file) => {
    expect(lineFor(file)).toMatch(/^dry-run ok /);
  });

  it('accepted what each set is for: GPU limits, the ScaledObject, the NetworkPolicy, the ServiceMonitor', () => {
    expect(lineFor('keda-values.yaml')).toMatch(/ScaledObject×1, .*TriggerAuthentication×1/);
    expect(lineFor('networkpolicy-values.yaml')).toMatch(/NetworkPolicy×1, .*ServiceMonitor×1/);
    expect(lineFor('default-values.yaml')).toMatch(/Deployment×1, PodDisruptionBudget×1/);
    // Kafka OAUTHBEARER with a private key: the CPU autoscaler, no KEDA (its scaler has no private_key_jwt).
    expect(lineFor('oauthbearer-values.yaml')).toMatch(/HorizontalPodAutoscaler×1, NetworkPolicy×1/);
    expect(lineFor('oauthbearer-values.yaml')).not.toMatch(/ScaledObject/);
    // The intake beside the worker (its own ConfigMap, Deployment and NetworkPolicy, no second PDB), and
    // KEDA's TriggerAuthentication for OAUTHBEARER (configMapTargetRef) against the CRD's schema.
    expect(lineFor('intake-values.yaml')).toMatch(
      /ConfigMap×2, Deployment×2, NetworkPolicy×2, PodDisruptionBudget×1, .*TriggerAuthentication×1/,
    );
    // The intake on Azure: its push Service beside the worker's, both NetworkPolicies.
    expect(lineFor('intake-cloud-values.yaml')).toMatch(/ConfigMap×2, Deployment×2, NetworkPolicy×2, .*Service×2/);
  });

  it('is a real validation: the server refuses what the schema of its version refuses', () => {
    // A field the PodDisruptionBudget does not have (strict validation) and a value it does not allow.
    const bad = join(work, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'apiVersion: policy/v1',
        'kind: PodDisruptionBudget',
        'metadata: { name: bad-field }',
        'spec: { maxUnavailable: 1, unhealthyPodEvictionPolcy: AlwaysAllow, selector: { matchLabels: { a: b } } }',
        '---',
        'apiVersion: policy/v1',
        'kind: PodDisruptionBudget',
        'metadata: { name: bad-value }',
        'spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: Sometimes, selector: { matchLabels: { a: b } } }',
        '---',
        'apiVersion: keda.sh/v1alpha1',
        'kind: ScaledObject',
        'metadata: { name: bad-keda }',
        'spec: { scaleTargetRef: { name: w }, maxReplicaCount: "six", triggers: [] }',
      ].join('\n'),
    );
    const run = script('dry-run.sh', '--manifest', bad);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/unknown field "spec.unhealthyPodEvictionPolcy"/);
    expect(run.stdout).toMatch(/Unsupported value: "Sometimes"/);
    expect(run.stdout).toMatch(/maxReplicaCount.*integer|must be of type integer/);
  }, 60_000);
});
