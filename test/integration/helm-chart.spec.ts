import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, parseIntakeConfig } from '@app/config';
import { telemetrySettings } from '@app/telemetry';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

/**
 * The worker's Helm chart. Always: the templates, values.yaml and values.schema.json agree.
 * With a real `helm` (on PATH or built by `bash scripts/lib/helm.sh install`): lint, render,
 * and the refusals; the rendered ConfigMap is fed to the worker's own configuration parser, and
 * for every ci/*-values.yaml the whole rendered environment (ConfigMap and env), each *_FILE
 * variable checked against the Secret volume mounted where it points.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'charts/covid-ct-triage');
const cacheDir = process.env.TRIAGE_CACHE_DIR || join(ROOT, '.cache');
const helm = [join(cacheDir, 'helm/bin/helm'), ...(process.env.PATH ?? '').split(':').map((d) => join(d, 'helm'))].find(
  (path) => existsSync(path),
);
if (!helm) console.warn('helm not found (bash scripts/lib/helm.sh install builds it); skipping the rendering tests');

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  $ref?: string;
  additionalProperties?: boolean;
  definitions?: Record<string, JsonSchema>;
}
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as JsonSchema;

describe('chart files agree with each other', () => {
  const templates = readdirSync(join(CHART, 'templates')).map((name) =>
    readFileSync(join(CHART, 'templates', name), 'utf8'),
  );

  it('every .Values path a template reads is declared in values.schema.json', () => {
    const paths = new Set(
      templates.flatMap((text) => [...text.matchAll(/\.Values((?:\.[A-Za-z]\w*)+)/g)].map((m) => m[1])),
    );
    expect(paths.size).toBeGreaterThan(40);
    const undeclared = [...paths].filter((path) => {
      let node: JsonSchema | undefined = schema;
      for (const key of path.slice(1).split('.')) {
        const resolved: JsonSchema | undefined = node?.$ref ? schema.definitions?.[node.$ref.split('/').at(-1)!] : node;
        // A free-form object (no declared properties) may hold any key below it.
        if (resolved && !resolved.properties && resolved.additionalProperties !== false) return false;
        node = resolved?.properties?.[key];
      }
      return node === undefined;
    });
    expect(undeclared).toEqual([]);
  });

  it('values.yaml sets exactly the top-level keys the schema declares, and the schema allows no others', () => {
    const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    const topLevel = [...values.matchAll(/^([A-Za-z]\w*):/gm)].map((m) => m[1]);
    expect(topLevel.toSorted()).toEqual(Object.keys(schema.properties!).toSorted());
    expect(schema.additionalProperties).toBe(false);
  });

  it('holds no credential values', () => {
    const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    expect(text).not.toMatch(/^\s*(password|token|username)\s*:\s*(?!''$)\S+(?<!: (password|token|username))$/m);
    const values = parse(text) as Record<'dicomweb' | 'fhir', Record<string, unknown>>;
    for (const server of ['dicomweb', 'fhir'] as const) {
      // The HTTP servers: no credentials by default, only the names of a Secret's keys.
      expect(values[server]).toMatchObject({
        auth: 'none',
        username: '',
        existingSecret: '',
        oauth: { tokenUrl: '', clientId: '', scope: '', clientAuthMethod: '', keyId: '' },
        secretKeys: {
          password: 'password',
          token: 'token',
          clientSecret: 'client-secret',
          privateKey: 'private-key.pem',
        },
      });
      for (const secret of ['password', 'token', 'clientSecret', 'privateKey'])
        expect(schema.properties![server].properties).not.toHaveProperty(secret);
    }
  });
});

const run = (args: string[]) => {
  const result = spawnSync(helm!, args, { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};
const render = (...sets: string[]) =>
  run(['template', 'triage', CHART, '--kube-version', '1.30.0', ...sets.flatMap((s) => ['--set', s])]);
/** Renders with one of the chart's ci/*-values.yaml files (and --set on top). */
const renderCi = (file: string, ...sets: string[]) =>
  run([
    'template',
    'triage',
    CHART,
    '--kube-version',
    '1.30.0',
    '-f',
    join(CHART, 'ci', file),
    ...sets.flatMap((s) => ['--set', s]),
  ]);
/** The chart-testing value sets: each one is linted, rendered, and dry-run by chart-dry-run.spec.ts. */
export const CI_VALUES = readdirSync(join(CHART, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .toSorted();

/** The ConfigMap's variables, as the worker would see them. */
const configMapData = (manifest: string): Record<string, string> =>
  Object.fromEntries(
    [
      ...byKind(manifest)
        .get('ConfigMap')!
        .matchAll(/^ {2}([A-Z][A-Z0-9_]*): "(.*)"$/gm),
    ].map((m) => [m[1], m[2]]),
  );

/** A component (the worker, the intake) as rendered, parsed as YAML (1.1, as Kubernetes reads it: defaultMode 0440 is octal). */
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface SecretVolume {
  secretName: string;
  defaultMode?: number;
  items?: { key: string; path: string }[];
}
interface Workload {
  configMap: Record<string, string>;
  env: EnvVar[];
  mounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  volumes: { name: string; secret?: SecretVolume }[];
  /** The Deployment itself and its container, for what the fields above do not cover. */
  deployment: Manifest;
  container: Record<string, unknown>;
}
interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown> & {
    replicas?: number;
    strategy?: Record<string, unknown>;
    selector?: { matchLabels: Record<string, string> };
    template?: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> };
  };
}
/** Every rendered object, parsed as YAML 1.1. */
const objects = (manifest: string): Manifest[] =>
  parseAllDocuments(manifest, { version: '1.1' })
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((object): object is Manifest => Boolean(object?.kind));
const component = (object: Manifest) => object.metadata.labels?.['app.kubernetes.io/component'];
function workload(manifest: string, name: 'worker' | 'intake' = 'worker'): Workload {
  const all = objects(manifest).filter((object) => component(object) === name);
  const configMap = all.find((object) => object.kind === 'ConfigMap')!.data!;
  const deployment = all.find((object) => object.kind === 'Deployment')!;
  const pod = deployment.spec!.template!.spec as {
    containers: Record<string, unknown>[];
    volumes: Workload['volumes'];
  };
  const container = pod.containers.find((c) => c.name === name)!;
  return {
    configMap,
    env: (container.env ?? []) as EnvVar[],
    mounts: container.volumeMounts as Workload['mounts'],
    volumes: pod.volumes,
    deployment,
    container,
  };
}
/** The variables the worker's process gets: the ConfigMap (envFrom), then env; a Secret's value as a stand-in. */
const environmentOf = ({ configMap, env }: Workload): Record<string, string> => ({
  ...configMap,
  ...Object.fromEntries(
    env.map(({ name, value, valueFrom }) => [
      name,
      value ?? `from-${valueFrom!.secretKeyRef!.name}-${valueFrom!.secretKeyRef!.key}`,
    ]),
  ),
});
/** The Secret and key a mounted file comes from: the volume mounted at its folder (never with subPath). */
function secretFileAt(rendered: Workload, path: string): { secret: string; key: string } | undefined {
  const mount = rendered.mounts.find((m) => m.mountPath === dirname(path) && !m.subPath);
  const secret = rendered.volumes.find((volume) => volume.name === mount?.name)?.secret;
  if (!secret || !mount!.readOnly) return undefined;
  if (!secret.items) return { secret: secret.secretName, key: basename(path) };
  const item = secret.items.find((i) => i.path === basename(path));
  return item && { secret: secret.secretName, key: item.key };
}

/** The rendered documents by kind (the manifests are plain YAML; a line scan is enough here). */
function byKind(manifest: string): Map<string, string> {
  const docs = manifest.split(/^---$/m).filter((doc) => /^kind: /m.test(doc));
  return new Map(docs.map((doc) => [/^kind: (\w+)/m.exec(doc)![1], doc]));
}

describe.skipIf(!helm)('helm lint and template', () => {
  it('lints cleanly in strict mode', () => {
    const lint = run(['lint', '--strict', '--kube-version', '1.30.0', CHART]);
    expect(lint.stderr + lint.stdout).toMatch(/0 chart\(s\) failed/);
    expect(lint.code).toBe(0);
  });

  it('renders the worker with probes, a grace period beyond the shutdown deadline and a locked-down container', () => {
    const rendered = render();
    expect(rendered.stderr).toBe('');
    expect(rendered.code).toBe(0);
    const docs = byKind(rendered.stdout);
    expect([...docs.keys()].toSorted()).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    const deployment = docs.get('Deployment')!;
    expect(deployment).toMatch(/livenessProbe:\s+httpGet:\s+path: \/health\/live\s+port: http/);
    expect(deployment).toMatch(/readinessProbe:\s+httpGet:\s+path: \/health\/ready\s+port: http/);
    expect(deployment).toMatch(/readOnlyRootFilesystem: true/);
    expect(deployment).toMatch(/runAsNonRoot: true/);
    expect(deployment).toMatch(/allowPrivilegeEscalation: false/);
    expect(deployment).toMatch(/limits:\s+memory: 6Gi/);
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(deployment)![1]);
    const deadlineMs = Number(/SHUTDOWN_DEADLINE_MS: "(\d+)"/.exec(docs.get('ConfigMap')!)![1]);
    expect(grace * 1000).toBeGreaterThan(deadlineMs);
    expect(deployment).not.toMatch(/secretKeyRef/);
  });

  it('renders a ConfigMap the worker’s own configuration parser accepts, value for value', () => {
    const configMap = byKind(
      render('worker.shutdownDeadlineSeconds=45', 'inference.threads=4', 'worker.decodeThreads=2').stdout,
    ).get('ConfigMap')!;
    const data = Object.fromEntries(
      [...configMap.matchAll(/^ {2}([A-Z][A-Z0-9_]*): "(.*)"$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(Object.keys(data).length).toBeGreaterThan(20);
    const config = parseConfig(data);
    expect(config.kafka.brokers).toEqual(['kafka:9092']);
    expect(config.kafka.topics.studyAvailable).toBe('triage.study-available.v1');
    expect(config.dicomweb.baseUrl).toBe('http://orthanc:8042/dicom-web');
    expect(config.inference.manifestPath).toBe('/models/covid-triage-demo/manifest.json');
    expect(config.inference.intraOpThreads).toBe(4);
    expect(config.worker.shutdownDeadlineMs).toBe(45_000);
    expect(config.worker.memoryBudgetMb).toBe(4096);
    expect(config.worker.studyDeadlineMs).toBe(1_800_000);
    expect(config.worker.maxDeliveries).toBe(3);
    expect(config.worker.decodeThreads).toBe(2);
    // Without decodeThreads the worker takes one thread per CPU: the variable is not rendered.
    expect(byKind(render().stdout).get('ConfigMap')).not.toMatch(/WORKER_DECODE_THREADS/);
  });

  it('speaks Kafka over SASL_SSL and mutual TLS with credentials mounted from Secrets as files', () => {
    const rendered = render(
      'kafka.securityProtocol=SASL_SSL',
      'kafka.tls.existingSecret=kafka-tls',
      'kafka.tls.secretKeys.cert=tls.crt',
      'kafka.tls.secretKeys.key=tls.key',
      'kafka.sasl.existingSecret=kafka-user',
    );
    expect(rendered.stderr).toBe('');
    const docs = byKind(rendered.stdout);
    const data = configMapData(rendered.stdout);
    // The username comes from the Secret as a variable; the worker's parser takes the rest as rendered.
    expect(parseConfig({ ...data, KAFKA_SASL_USERNAME: 'triage' }).kafka.security).toEqual({
      protocol: 'SASL_SSL',
      tls: {
        caFile: '/etc/covid-ct-triage/kafka/tls/ca.pem',
        clientCertificate: {
          certFile: '/etc/covid-ct-triage/kafka/tls/client.crt',
          keyFile: '/etc/covid-ct-triage/kafka/tls/client.key',
        },
      },
      sasl: {
        mechanism: 'scram-sha-512',
        username: 'triage',
        password: { file: '/etc/covid-ct-triage/kafka/sasl/password' },
      },
    });
    const deployment = docs.get('Deployment')!;
    expect(deployment).toMatch(
      /- name: KAFKA_SASL_USERNAME\s+valueFrom:\s+secretKeyRef:\s+name: kafka-user\s+key: username/,
    );
    expect(deployment).toMatch(/- name: kafka-tls\s+mountPath: \/etc\/covid-ct-triage\/kafka\/tls\s+readOnly: true/);
    expect(deployment).toMatch(
      /secretName: kafka-tls[\s\S]*key: ca.crt\s+path: ca.pem[\s\S]*key: tls.crt\s+path: client.crt/,
    );
    expect(deployment).toMatch(/secretName: kafka-user[\s\S]*key: password\s+path: password/);
    // PLAINTEXT by default: nothing mounted, nothing the worker would refuse.
    const plain = render().stdout;
    expect(parseConfig(configMapData(plain)).kafka.security).toEqual({ protocol: 'PLAINTEXT' });
    expect(byKind(plain).get('Deployment')).not.toMatch(/kafka-tls|kafka-sasl/);
  });

  it('sends no telemetry by default, and OpenTelemetry’s own variables once an OTLP endpoint is set', () => {
    expect(byKind(render().stdout).get('ConfigMap')).not.toMatch(/OTEL_/);
    const rendered = render(
      'telemetry.otlpEndpoint=http://otel-collector.observability:4318',
      'telemetry.sampler=parentbased_traceidratio',
      'telemetry.samplerArg=0.25',
      'telemetry.existingSecret=collector-auth',
    );
    expect(rendered.stderr).toBe('');
    const docs = byKind(rendered.stdout);
    const configMap = docs.get('ConfigMap')!;
    expect(configMap).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT: "http:\/\/otel-collector.observability:4318"/);
    expect(configMap).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL: "http\/protobuf"/);
    expect(configMap).toMatch(/OTEL_TRACES_SAMPLER: "parentbased_traceidratio"/);
    expect(configMap).toMatch(/OTEL_TRACES_SAMPLER_ARG: "0.25"/);
    expect(configMap).toMatch(/OTEL_METRIC_EXPORT_INTERVAL: "60000"/);
    expect(docs.get('Deployment')).toMatch(
      /- name: OTEL_EXPORTER_OTLP_HEADERS\s+valueFrom:\s+secretKeyRef:\s+name: collector-auth\s+key: headers/,
    );
    expect(render('telemetry.otlpProtocol=thrift').code).not.toBe(0);
  });

  it('mounts a model volume read-only and adds the autoscaler when asked', () => {
    const docs = byKind(
      render('model.source=persistentVolumeClaim', 'model.existingClaim=model-sets', 'autoscaling.enabled=true').stdout,
    );
    expect(docs.get('Deployment')).toMatch(/persistentVolumeClaim:\s+claimName: model-sets\s+readOnly: true/);
    expect(docs.get('Deployment')).not.toMatch(/^ {2}replicas:/m);
    expect(docs.get('HorizontalPodAutoscaler')).toMatch(/maxReplicas: 6/);
  });

  it('refuses settings that cannot work, naming the value', () => {
    const refusals: [string[], RegExp][] = [
      [['replicaCount=8'], /replicaCount \(8\) exceeds kafka.studyAvailablePartitions \(6\)/],
      [['autoscaling.enabled=true', 'autoscaling.maxReplicas=12'], /autoscaling.maxReplicas \(12\) exceeds/],
      [['dicomweb.auth=bearer'], /existingSecret/],
      [['model.source=persistentVolumeClaim'], /model.existingClaim/],
      [['securityContext.readOnlyRootFilesystem=false'], /readOnlyRootFilesystem/],
      [['worker.logLevel=loud'], /logLevel/],
      [['kafka.heartbeatIntervalMs=20000'], /heartbeatIntervalMs/],
      [['kafka.securityProtocol=SASL_SSL'], /kafka.sasl.existingSecret/],
      [['kafka.securityProtocol=TLS'], /securityProtocol/],
      [['kafka.securityProtocol=SSL', 'kafka.tls.existingSecret=t', 'kafka.tls.secretKeys.cert=c'], /both/],
      [['kafka.tls.existingSecret=kafka-tls'], /PLAINTEXT would not use it/],
    ];
    for (const [sets, message] of refusals) {
      const rendered = render(...sets);
      expect({ sets, code: rendered.code }).not.toEqual({ sets, code: 0 });
      expect(rendered.stderr).toMatch(message);
    }
  });
});

describe.skipIf(!helm)('the ci/*-values.yaml sets', () => {
  it('are the nine: default, GPU, KEDA, NetworkPolicy on, secrets as files, OAuth2 for both HTTP servers, Kafka OAUTHBEARER, the intake, the intake on Azure', () => {
    expect(CI_VALUES).toEqual([
      'default-values.yaml',
      'gpu-values.yaml',
      'intake-cloud-values.yaml',
      'intake-values.yaml',
      'keda-values.yaml',
      'networkpolicy-values.yaml',
      'oauth-values.yaml',
      'oauthbearer-values.yaml',
      'secret-files-values.yaml',
    ]);
  });

  it.each(CI_VALUES)(
    '%s: the worker’s (and the intake’s) own parser accepts the whole rendered environment, each *_FILE a mounted Secret file',
    (file) => {
      const manifest = renderCi(file).stdout;
      const intake = objects(manifest).some((object) => object.kind === 'Deployment' && component(object) === 'intake');
      expect(intake).toBe(file.startsWith('intake-'));
      const parsers = [['worker', parseConfig] as const, ...(intake ? [['intake', parseIntakeConfig] as const] : [])];
      for (const [name, parseEnvironment] of parsers) {
        const rendered = workload(manifest, name);
        const environment = environmentOf(rendered);
        expect(() => parseEnvironment(environment)).not.toThrow();
        const files = Object.entries(environment).filter(([variable]) => variable.endsWith('_FILE'));
        for (const [variable, path] of files) {
          expect({ name, variable, file: secretFileAt(rendered, path) }).toEqual({
            name,
            variable,
            file: expect.anything(),
          });
        }
      }
    },
  );

  it.each(CI_VALUES)('%s lints in strict mode and renders', (file) => {
    const lint = run(['lint', '--strict', '--kube-version', '1.30.0', CHART, '-f', join(CHART, 'ci', file)]);
    expect(lint.stderr + lint.stdout).toMatch(/0 chart\(s\) failed/);
    expect(lint.code).toBe(0);
    const rendered = renderCi(file);
    expect(rendered.stderr).toBe('');
    expect(rendered.code).toBe(0);
  });

  it('gpu: the CUDA image, a GPU limit, the NVIDIA runtime class, GPU nodes and the CUDA provider first', () => {
    const docs = byKind(renderCi('gpu-values.yaml').stdout);
    const deployment = docs.get('Deployment')!;
    expect(deployment).toMatch(/image: "covid-ct-triage:0\.1\.0-cuda"/);
    expect(deployment).toMatch(/limits:\s+memory: 6Gi\s+nvidia.com\/gpu: 1/);
    expect(deployment).toMatch(/runtimeClassName: nvidia/);
    expect(deployment).toMatch(
      /nodeSelector:\s+cloud.google.com\/gke-accelerator: nvidia-l4\s+nvidia.com\/gpu.present: "true"/,
    );
    expect(deployment).toMatch(/tolerations:\s+- effect: NoSchedule\s+key: nvidia.com\/gpu\s+operator: Exists/);
    const gpuInference = parseConfig(configMapData(renderCi('gpu-values.yaml').stdout)).inference;
    expect(gpuInference.executionProviders).toEqual(['cuda', 'cpu']);
    // A CUDA provider that fails to load keeps the pod unready unless CPU is accepted.
    expect(gpuInference.allowCpuFallback).toBe(false);
    const accepting = parseConfig(configMapData(renderCi('gpu-values.yaml', 'gpu.allowCpuFallback=true').stdout));
    expect(accepting.inference.allowCpuFallback).toBe(true);
    // Without gpu.enabled: the CPU image, no GPU, the CPU provider.
    const cpu = byKind(render().stdout).get('Deployment')!;
    expect(cpu).toMatch(/image: "covid-ct-triage:0\.1\.0"/);
    expect(cpu).not.toMatch(/nvidia|runtimeClassName/);
  });

  it('keda: a ScaledObject on the consumer group’s lag, at most the partition count, no CPU autoscaler', () => {
    const rendered = renderCi('keda-values.yaml');
    const docs = byKind(rendered.stdout);
    expect(docs.has('HorizontalPodAutoscaler')).toBe(false);
    const scaled = docs.get('ScaledObject')!;
    expect(scaled).toMatch(/apiVersion: keda.sh\/v1alpha1/);
    expect(scaled).toMatch(/maxReplicaCount: 12/);
    expect(scaled).toMatch(/type: kafka\s+metadata:\s+bootstrapServers: "kafka-0/);
    expect(scaled).toMatch(/consumerGroup: "covid-ct-triage-worker"/);
    expect(scaled).toMatch(/topic: "triage.study-available.v1"/);
    expect(scaled).toMatch(/allowIdleConsumers: "false"/);
    expect(scaled).toMatch(/sasl: "scram_sha_512"/);
    expect(scaled).toMatch(/authenticationRef:\s+name: triage-covid-ct-triage-kafka/);
    // KEDA reads the lag with the worker's own Secrets.
    const auth = docs.get('TriggerAuthentication')!;
    expect(auth).toMatch(/- parameter: ca\s+name: kafka-ca\s+key: ca.crt/);
    expect(auth).toMatch(/- parameter: password\s+name: kafka-triage-user\s+key: password/);
    // KEDA owns the replica count: an upgrade must not reset it.
    expect(docs.get('Deployment')).not.toMatch(/^ {2}replicas:/m);
    expect(byKind(render('keda.enabled=true').stdout).has('TriggerAuthentication')).toBe(false);
  });

  it('networkpolicy: ingress to the health and metrics ports from monitoring, egress to the listed destinations only', () => {
    const docs = byKind(renderCi('networkpolicy-values.yaml').stdout);
    const policy = docs.get('NetworkPolicy')!;
    expect(policy).toMatch(/policyTypes:\s+- Ingress\s+- Egress/);
    expect(policy).toMatch(
      /ingress:\s+- from:\s+- namespaceSelector:\s+matchLabels:\s+kubernetes.io\/metadata.name: monitoring\s+ports:\s+- port: http\s+protocol: TCP\s+- port: metrics/,
    );
    const egress = policy.slice(policy.indexOf('egress:'));
    expect([...egress.matchAll(/^ {4}- ports:/gm)]).toHaveLength(6); // DNS, Kafka, archive, FHIR, token, OTLP
    for (const cidr of ['192.0.2.10/32', '198.51.100.0/28', '203.0.113.5/32'])
      expect(egress).toContain(`cidr: ${cidr}`);
    expect(egress).toMatch(/- port: 53\s+protocol: UDP/);
    // Prometheus scrapes the OpenTelemetry SDK's exporter through the ServiceMonitor.
    expect(docs.get('ServiceMonitor')).toMatch(/endpoints:\s+- port: metrics\s+path: \/metrics/);
    expect(docs.get('ServiceMonitor')).toMatch(/release: kube-prometheus-stack/);
    expect(docs.get('Service')).toMatch(/- name: metrics\s+port: 9464\s+targetPort: metrics/);
    const data = configMapData(renderCi('networkpolicy-values.yaml').stdout);
    expect(data.OTEL_METRICS_EXPORTER).toBe('otlp,prometheus');
    expect(telemetrySettings(data)).toMatchObject({ traces: true, metrics: true });
    expect(telemetrySettings(configMapData(render('metrics.enabled=true').stdout))).toMatchObject({
      traces: false,
      metrics: true,
    });
  });

  it('secret-files: every credential from a Secret, files mounted read-only, the *_FILE variable pointing at one', () => {
    const deployment = byKind(renderCi('secret-files-values.yaml').stdout).get('Deployment')!;
    expect(deployment).toMatch(
      /- name: secret-hospital-ca\s+mountPath: \/etc\/covid-ct-triage\/secrets\/hospital-ca\s+readOnly: true/,
    );
    expect(deployment).toMatch(
      /- name: secret-hospital-ca\s+secret:\s+secretName: hospital-ca-bundle\s+defaultMode: 0440\s+items:\s+- key: ca-bundle.pem\s+path: ca.pem/,
    );
    expect(deployment).toMatch(/- name: HTTPS_CA_FILE\s+value: "\/etc\/covid-ct-triage\/secrets\/hospital-ca\/ca.pem"/);
    expect(deployment).toMatch(/persistentVolumeClaim:\s+claimName: triage-models\s+readOnly: true/);
    expect(deployment).toMatch(/- name: model\s+mountPath: \/models\s+readOnly: true\s+subPath: sets/);
    // No secret value anywhere in what the chart renders: only names of Secrets and keys.
    expect(renderCi('secret-files-values.yaml').stdout).not.toMatch(/^kind: Secret$/m);
  });

  it('the PodDisruptionBudget lets unhealthy pods go; replicas spread over zones and nodes', () => {
    const docs = byKind(render().stdout);
    expect(docs.get('PodDisruptionBudget')).toMatch(/unhealthyPodEvictionPolicy: AlwaysAllow/);
    const deployment = docs.get('Deployment')!;
    expect(deployment).toMatch(/topologyKey: topology.kubernetes.io\/zone\s+whenUnsatisfiable: ScheduleAnyway/);
    expect(deployment).toMatch(/topologyKey: kubernetes.io\/hostname/);
    expect(byKind(render('topologySpread.enabled=false').stdout).get('Deployment')).not.toMatch(/topologySpread/);
  });

  it('takes the model from an OCI image volume', () => {
    const deployment = byKind(
      render('model.source=imageVolume', 'model.ociImage.reference=registry.example/models/covid-triage:0.1.0').stdout,
    ).get('Deployment')!;
    expect(deployment).toMatch(
      /- name: model\s+(#.*\s+)?image:\s+reference: registry.example\/models\/covid-triage:0.1.0/,
    );
    expect(deployment).toMatch(/- name: model\s+mountPath: \/models\s+readOnly: true/);
  });

  it('refuses the new settings that cannot work, naming the value', () => {
    const refusals: [string[], RegExp][] = [
      [['keda.enabled=true', 'autoscaling.enabled=true'], /keda.enabled and autoscaling.enabled/],
      [
        ['keda.enabled=true', 'keda.maxReplicaCount=7'],
        /keda.maxReplicaCount \(7\) exceeds kafka.studyAvailablePartitions \(6\)/,
      ],
      [['keda.enabled=true', 'keda.minReplicaCount=5', 'keda.maxReplicaCount=4'], /keda.minReplicaCount \(5\) exceeds/],
      [['networkPolicy.enabled=true'], /networkPolicy.egress.kafka/],
      [['metrics.serviceMonitor.enabled=true'], /needs metrics.enabled/],
      [['metrics.enabled=true', 'metrics.port=3000'], /metrics.port \(3000\) is worker.httpPort/],
      [['model.source=imageVolume'], /model.ociImage.reference/],
      [['podDisruptionBudget.unhealthyPodEvictionPolicy=Never'], /unhealthyPodEvictionPolicy/],
      [['gpu.enabled=true', 'gpu.executionProviders=cuda\\,gpu'], /executionProviders/],
      [
        [
          'secretFiles[0].name=ca',
          'secretFiles[0].existingSecret=ca',
          'secretFiles[0].items[0].key=k',
          'secretFiles[0].items[0].path=ca.pem',
          'secretFiles[0].env.HTTPS_CA_FILE=other.pem',
        ],
        /secretFiles\[ca\].env.HTTPS_CA_FILE names other.pem/,
      ],
    ];
    for (const [sets, message] of refusals) {
      const rendered = render(...sets);
      expect({ sets, code: rendered.code }).not.toEqual({ sets, code: 0 });
      expect(rendered.stderr).toMatch(message);
    }
    // An egress destination must say where: ports alone would open them to every address.
    const portsOnly = renderCi('networkpolicy-values.yaml', 'networkPolicy.egress.extra[0].ports[0].port=8443');
    expect(portsOnly.code).not.toBe(0);
  });
});

/** A server's auth settings in the ConfigMap (not its URL, timeout or identifier system). */
const authSettings = (configMap: Record<string, string>, prefix: string) =>
  Object.fromEntries(
    Object.entries(configMap).filter(
      ([name]) => name.startsWith(`${prefix}_`) && !/_(BASE_URL|TIMEOUT_MS|IDENTIFIER_SYSTEM)$/.test(name),
    ),
  );

/** Values for a server at an https:// URL, and for one with an OAuth2 client. */
const https = (server: string) => `${server}.baseUrl=https://${server}.example/api`;
const withOAuthClient = (server: string) => [
  https(server),
  `${server}.existingSecret=idp`,
  `${server}.oauth.tokenUrl=https://idp.example/token`,
  `${server}.oauth.clientId=triage`,
];

describe.skipIf(!helm)('the HTTP servers’ credentials (DICOMweb and FHIR, one shape)', () => {
  const SERVERS = [
    ['dicomweb', 'DICOMWEB', 'https://pacs.example/dicom-web'],
    ['fhir', 'FHIR', 'https://fhir.example/fhir'],
  ] as const;
  /** Each kind: the values it needs besides existingSecret, its file, the Secret key by default, and what the worker makes of it. */
  const KINDS = [
    {
      kind: 'basic',
      sets: ['username=triage'],
      file: 'password',
      key: 'password',
      config: { USERNAME: 'triage', PASSWORD_FILE: 'password' },
      auth: (dir: string) => ({ kind: 'basic', username: 'triage', password: { file: `${dir}/password` } }),
    },
    {
      kind: 'bearer',
      sets: [],
      file: 'token',
      key: 'token',
      config: { TOKEN_FILE: 'token' },
      auth: (dir: string) => ({ kind: 'bearer', token: { file: `${dir}/token` } }),
    },
    {
      kind: 'client-credentials',
      sets: ['oauth.tokenUrl=https://idp.example/token', 'oauth.clientId=triage', 'oauth.scope=system/*.rs'],
      file: 'client-secret',
      key: 'client-secret',
      config: {
        TOKEN_URL: 'https://idp.example/token',
        CLIENT_ID: 'triage',
        SCOPE: 'system/*.rs',
        CLIENT_SECRET_FILE: 'client-secret',
      },
      auth: (dir: string) => ({
        kind: 'client-credentials',
        tokenUrl: 'https://idp.example/token',
        clientId: 'triage',
        scope: 'system/*.rs',
        clientSecret: { file: `${dir}/client-secret` },
        method: 'client_secret_basic',
      }),
    },
    {
      kind: 'private-key-jwt',
      sets: ['oauth.tokenUrl=https://idp.example/token', 'oauth.clientId=triage'],
      file: 'private-key.pem',
      key: 'private-key.pem',
      config: { TOKEN_URL: 'https://idp.example/token', CLIENT_ID: 'triage', PRIVATE_KEY_FILE: 'private-key.pem' },
      auth: (dir: string) => ({
        kind: 'private-key-jwt',
        tokenUrl: 'https://idp.example/token',
        clientId: 'triage',
        privateKeyFile: `${dir}/private-key.pem`,
      }),
    },
  ] as const;
  it('none by default: no credential variable, volume or Secret reference; ALLOW_INSECURE_HTTP false', () => {
    const rendered = workload(render().stdout);
    expect(authSettings(rendered.configMap, 'DICOMWEB')).toEqual({ DICOMWEB_AUTH: 'none' });
    expect(authSettings(rendered.configMap, 'FHIR')).toEqual({ FHIR_AUTH: 'none' });
    expect(rendered.configMap.ALLOW_INSECURE_HTTP).toBe('false');
    expect(rendered.volumes.map((v) => v.name)).toEqual(['tmp']);
    expect(rendered.env).toEqual([]);
    const config = parseConfig(environmentOf(rendered));
    expect([config.dicomweb.auth, config.fhir.auth]).toEqual([{ kind: 'none' }, { kind: 'none' }]);
  });

  describe.each(SERVERS)('%s', (server, prefix, baseUrl) => {
    const dir = `/etc/covid-ct-triage/${server}`;
    it.each(KINDS)('auth=$kind: the settings in the ConfigMap, only its key mounted as a file', (kind) => {
      const rendered = workload(
        render(
          `${server}.baseUrl=${baseUrl}`,
          `${server}.auth=${kind.kind}`,
          `${server}.existingSecret=${server}-credentials`,
          ...kind.sets.map((set) => `${server}.${set}`),
        ).stdout,
      );
      expect(authSettings(rendered.configMap, prefix)).toEqual({
        [`${prefix}_AUTH`]: kind.kind,
        ...Object.fromEntries(
          Object.entries(kind.config).map(([setting, value]) => [
            `${prefix}_${setting}`,
            setting.endsWith('_FILE') ? `${dir}/${value}` : value,
          ]),
        ),
      });
      // One volume for this server: only the key the kind needs, read-only files, mode 0440, no subPath.
      expect(rendered.volumes.filter((v) => v.name.endsWith('-auth'))).toEqual([
        {
          name: `${server}-auth`,
          secret: {
            secretName: `${server}-credentials`,
            defaultMode: 0o440,
            items: [{ key: kind.key, path: kind.file }],
          },
        },
      ]);
      expect(rendered.mounts.filter((m) => m.name.endsWith('-auth'))).toEqual([
        { name: `${server}-auth`, mountPath: dir, readOnly: true },
      ]);
      // Nothing secret as a variable: the worker reads the file, and reads it again when it changes.
      expect(rendered.env).toEqual([]);
      const config = parseConfig(environmentOf(rendered));
      expect(config[server].auth).toEqual(kind.auth(dir));
      expect(secretFileAt(rendered, `${dir}/${kind.file}`)).toEqual({
        secret: `${server}-credentials`,
        key: kind.key,
      });
    });

    it('takes the Secret’s key names, the client authentication method and the key id from values', () => {
      const common = [`${server}.baseUrl=${baseUrl}`, `${server}.existingSecret=idp`];
      const oauth = [`${server}.oauth.tokenUrl=https://idp.example/token`, `${server}.oauth.clientId=triage`];
      const post = workload(
        render(
          ...common,
          ...oauth,
          `${server}.auth=client-credentials`,
          `${server}.oauth.clientAuthMethod=client_secret_post`,
          `${server}.secretKeys.clientSecret=secret`,
        ).stdout,
      );
      expect(parseConfig(environmentOf(post))[server].auth).toMatchObject({ method: 'client_secret_post' });
      expect(secretFileAt(post, `${dir}/client-secret`)).toEqual({ secret: 'idp', key: 'secret' });
      const jwt = workload(
        render(
          ...common,
          ...oauth,
          `${server}.auth=private-key-jwt`,
          `${server}.oauth.keyId=k1`,
          `${server}.secretKeys.privateKey=tls.key`,
        ).stdout,
      );
      expect(parseConfig(environmentOf(jwt))[server].auth).toMatchObject({ keyId: 'k1' });
      expect(secretFileAt(jwt, `${dir}/private-key.pem`)).toEqual({ secret: 'idp', key: 'tls.key' });
    });
  });

  it('oauth: DICOMweb with client credentials, FHIR with SMART Backend Services, the hospital CA for both', () => {
    const rendered = workload(renderCi('oauth-values.yaml').stdout);
    const config = parseConfig(environmentOf(rendered));
    expect(config.dicomweb.auth).toEqual({
      kind: 'client-credentials',
      tokenUrl: 'https://login.hospital.example/realms/imaging/protocol/openid-connect/token',
      clientId: 'covid-ct-triage',
      scope: 'dicomweb.read dicomweb.write',
      clientSecret: { file: '/etc/covid-ct-triage/dicomweb/client-secret' },
      method: 'client_secret_post',
    });
    expect(config.fhir.auth).toEqual({
      kind: 'private-key-jwt',
      tokenUrl: 'https://fhir.hospital.example/auth/token',
      clientId: 'covid-ct-triage',
      scope: 'system/DiagnosticReport.cu system/Observation.cu system/Device.cu system/Provenance.cu',
      privateKeyFile: '/etc/covid-ct-triage/fhir/private-key.pem',
      keyId: 'triage-2026-01',
    });
    expect(config.https).toEqual({ caFile: '/etc/covid-ct-triage/secrets/hospital-ca/ca.pem' });
    expect(secretFileAt(rendered, config.https.caFile!)).toEqual({
      secret: 'hospital-ca-bundle',
      key: 'ca-bundle.pem',
    });
    expect(secretFileAt(rendered, '/etc/covid-ct-triage/dicomweb/client-secret')).toEqual({
      secret: 'pacs-oauth-client',
      key: 'client-secret',
    });
    expect(secretFileAt(rendered, '/etc/covid-ct-triage/fhir/private-key.pem')).toEqual({
      secret: 'fhir-smart-client',
      key: 'ec-p384.pem',
    });
    // secret-files: basic auth and a static bearer token, as files too.
    const files = parseConfig(environmentOf(workload(renderCi('secret-files-values.yaml').stdout)));
    expect(files.dicomweb.auth).toEqual({
      kind: 'basic',
      username: 'triage',
      password: { file: '/etc/covid-ct-triage/dicomweb/password' },
    });
    expect(files.fhir.auth).toEqual({ kind: 'bearer', token: { file: '/etc/covid-ct-triage/fhir/token' } });
  });

  it('credentials over http:// only with allowInsecureHttp, which the worker then gets too', () => {
    const sets = [
      'fhir.auth=client-credentials',
      'fhir.existingSecret=idp',
      'fhir.oauth.tokenUrl=http://idp.test/token',
      'fhir.oauth.clientId=triage',
    ];
    expect(render(...sets).stderr).toMatch(/fhir.baseUrl is http:\/\//);
    const rendered = workload(render(...sets, 'allowInsecureHttp=true').stdout);
    expect(rendered.configMap.ALLOW_INSECURE_HTTP).toBe('true');
    expect(parseConfig(environmentOf(rendered)).fhir.auth).toMatchObject({ tokenUrl: 'http://idp.test/token' });
    // The worker would refuse the same environment without it: the chart refuses what it refuses.
    expect(() => parseConfig({ ...environmentOf(rendered), ALLOW_INSECURE_HTTP: 'false' })).toThrow(
      /FHIR_BASE_URL: is http:\/\/[\s\S]*FHIR_TOKEN_URL: is http:\/\//,
    );
  });

  it('refuses what the worker would refuse, and the old shapes, naming the value', () => {
    const refusals: [string[], RegExp][] = [
      // The old FHIR shape: an existingSecret without auth would have written unauthenticated.
      [['fhir.existingSecret=fhir-token'], /fhir.existingSecret is set but fhir.auth=none would not use it/],
      [['fhir.secretKeys.bearerToken=token'], /fhir.secretKeys.bearerToken is the old shape.*fhir.auth=bearer/],
      [['dicomweb.secretKeys.username=username'], /dicomweb.secretKeys.username is the old shape.*dicomweb.username/],
      // A kind that needs a Secret, without one.
      [['dicomweb.auth=bearer', https('dicomweb')], /dicomweb.auth=bearer needs dicomweb.existingSecret/],
      [['fhir.auth=private-key-jwt', https('fhir')], /fhir.auth=private-key-jwt needs fhir.existingSecret/],
      [['fhir.auth=basic', https('fhir'), 'fhir.existingSecret=s'], /fhir.auth=basic needs fhir.username/],
      // OAuth2 without its token endpoint or client.
      [
        ['dicomweb.auth=client-credentials', https('dicomweb'), 'dicomweb.existingSecret=s'],
        /dicomweb.auth=client-credentials needs dicomweb.oauth.tokenUrl/,
      ],
      [
        ['fhir.auth=private-key-jwt', ...withOAuthClient('fhir'), 'fhir.oauth.clientId='],
        /fhir.auth=private-key-jwt needs fhir.oauth.clientId/,
      ],
      // Credentials in the clear.
      [['dicomweb.auth=bearer', 'dicomweb.existingSecret=s'], /dicomweb.baseUrl is http:\/\/.*allowInsecureHttp/],
      [
        ['fhir.auth=client-credentials', ...withOAuthClient('fhir'), 'fhir.oauth.tokenUrl=http://idp.example/token'],
        /fhir.oauth.tokenUrl is http:\/\//,
      ],
      // A setting the kind does not use (the worker refuses it at start-up).
      [['fhir.oauth.scope=system/*.rs'], /fhir.oauth.scope is set but fhir.auth=none would not use it/],
      [['dicomweb.username=triage'], /dicomweb.username is set but dicomweb.auth=none/],
      [
        ['fhir.auth=private-key-jwt', ...withOAuthClient('fhir'), 'fhir.oauth.clientAuthMethod=client_secret_post'],
        /fhir.oauth.clientAuthMethod is set but fhir.auth=private-key-jwt/,
      ],
      [
        ['dicomweb.auth=client-credentials', ...withOAuthClient('dicomweb'), 'dicomweb.oauth.keyId=k1'],
        /dicomweb.oauth.keyId is set but dicomweb.auth=client-credentials/,
      ],
      // The schema: kinds, methods, user names and scopes the worker cannot take; secrets as values.
      [['fhir.auth=oauth'], /fhir\/auth/],
      [['fhir.oauth.clientAuthMethod=private_key_jwt'], /clientAuthMethod/],
      [['dicomweb.username=a:b'], /dicomweb\/username/],
      [['fhir.oauth.scope=a"b'], /fhir\/oauth\/scope/],
      [['dicomweb.password=hunter2'], /additional properties 'password' not allowed/],
      [['fhir.oauth.clientSecret=hunter2'], /additional properties 'clientSecret' not allowed/],
      // The NetworkPolicy must let the worker reach the token endpoint.
      [
        [
          'fhir.auth=private-key-jwt',
          ...withOAuthClient('fhir'),
          'networkPolicy.enabled=true',
          ...['kafka', 'archive', 'fhir'].flatMap((to) => [
            `networkPolicy.egress.${to}[0].cidrs[0]=10.0.0.0/8`,
            `networkPolicy.egress.${to}[0].ports[0].port=443`,
          ]),
        ],
        /networkPolicy.egress.tokenEndpoint must let the worker reach fhir.oauth.tokenUrl/,
      ],
    ];
    for (const [sets, message] of refusals) {
      const rendered = render(...sets);
      expect({ sets, code: rendered.code }).not.toEqual({ sets, code: 0 });
      expect(rendered.stderr).toMatch(message);
    }
  });
});

/** Kafka over SASL_SSL with OAUTHBEARER: the OAuth client's values and its Secret. */
const kafkaOAuth = (credential: 'clientSecret' | 'privateKey', ...more: string[]) => [
  'kafka.securityProtocol=SASL_SSL',
  'kafka.sasl.mechanism=oauthbearer',
  'kafka.sasl.existingSecret=kafka-oauth',
  `kafka.sasl.secretKeys.${credential}=${credential === 'privateKey' ? 'key.pem' : 'secret'}`,
  'kafka.sasl.oauth.tokenUrl=https://idp.example/token',
  'kafka.sasl.oauth.clientId=triage-kafka',
  ...more,
];
/** NetworkPolicy on with the three required destinations. */
const withNetworkPolicy = [
  'networkPolicy.enabled=true',
  ...['kafka', 'archive', 'fhir'].flatMap((to) => [
    `networkPolicy.egress.${to}[0].cidrs[0]=10.0.0.0/8`,
    `networkPolicy.egress.${to}[0].ports[0].port=443`,
  ]),
];

describe.skipIf(!helm)('Kafka SASL/OAUTHBEARER', () => {
  const dir = '/etc/covid-ct-triage/kafka/sasl';

  it.each([
    {
      credential: 'clientSecret',
      more: ['kafka.sasl.oauth.clientAuthMethod=client_secret_post', 'kafka.sasl.oauth.scope=kafka'],
      file: 'client-secret',
      key: 'secret',
      config: {
        KAFKA_SASL_OAUTH_SCOPE: 'kafka',
        KAFKA_SASL_OAUTH_CLIENT_AUTH_METHOD: 'client_secret_post',
        KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE: `${dir}/client-secret`,
      },
      client: {
        kind: 'client-credentials',
        scope: 'kafka',
        clientSecret: { file: `${dir}/client-secret` },
        method: 'client_secret_post',
      },
    },
    {
      credential: 'privateKey',
      more: ['kafka.sasl.oauth.keyId=k1'],
      file: 'private-key.pem',
      key: 'key.pem',
      config: { KAFKA_SASL_OAUTH_KEY_ID: 'k1', KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE: `${dir}/private-key.pem` },
      client: { kind: 'private-key-jwt', privateKeyFile: `${dir}/private-key.pem`, keyId: 'k1' },
    },
  ] as const)(
    'with a $credential: the client in the ConfigMap, only its key mounted as a file, no SCRAM username',
    ({ credential, more, file, key, config, client }) => {
      const rendered = workload(render(...kafkaOAuth(credential, ...more)).stdout);
      expect(
        Object.fromEntries(Object.entries(rendered.configMap).filter(([name]) => name.startsWith('KAFKA_SASL_'))),
      ).toEqual({
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTH_TOKEN_URL: 'https://idp.example/token',
        KAFKA_SASL_OAUTH_CLIENT_ID: 'triage-kafka',
        ...config,
      });
      expect(rendered.volumes.find((v) => v.name === 'kafka-sasl')).toEqual({
        name: 'kafka-sasl',
        secret: { secretName: 'kafka-oauth', defaultMode: 0o440, items: [{ key, path: file }] },
      });
      expect(rendered.mounts.find((m) => m.name === 'kafka-sasl')).toEqual({
        name: 'kafka-sasl',
        mountPath: dir,
        readOnly: true,
      });
      // The OAuth client is the principal: no KAFKA_SASL_USERNAME, nothing secret as a variable.
      expect(rendered.env).toEqual([]);
      expect(secretFileAt(rendered, `${dir}/${file}`)).toEqual({ secret: 'kafka-oauth', key });
      expect(parseConfig(environmentOf(rendered)).kafka.security).toEqual({
        protocol: 'SASL_SSL',
        tls: {},
        sasl: {
          mechanism: 'oauthbearer',
          client: { tokenUrl: 'https://idp.example/token', clientId: 'triage-kafka', ...client },
        },
      });
    },
  );

  it('oauthbearer-values: a private key, the hospital CA, the token endpoint in the NetworkPolicy, no KEDA', () => {
    const manifest = renderCi('oauthbearer-values.yaml').stdout;
    const rendered = workload(manifest);
    const config = parseConfig(environmentOf(rendered));
    expect(config.kafka.security).toMatchObject({
      protocol: 'SASL_SSL',
      tls: { caFile: '/etc/covid-ct-triage/kafka/tls/ca.pem' },
      sasl: {
        mechanism: 'oauthbearer',
        client: {
          kind: 'private-key-jwt',
          clientId: 'covid-ct-triage-kafka',
          scope: 'kafka',
          keyId: 'triage-kafka-2026-01',
          privateKeyFile: `${dir}/private-key.pem`,
        },
      },
    });
    expect(secretFileAt(rendered, `${dir}/private-key.pem`)).toEqual({
      secret: 'kafka-oauth-client',
      key: 'ec-p384.pem',
    });
    expect(config.https.caFile).toBe('/etc/covid-ct-triage/secrets/hospital-ca/ca.pem');
    const kinds = objects(manifest).map((object) => object.kind);
    expect(kinds).toContain('HorizontalPodAutoscaler');
    expect(kinds).not.toContain('ScaledObject');
    expect(byKind(manifest).get('NetworkPolicy')).toMatch(/# tokenEndpoint\s+- ports:\s+- port: 443/);
  });

  it('KEDA reads the lag with the same client: the Secret’s client secret, the ConfigMap’s client id, token endpoint and scope', () => {
    const manifest = render(
      ...kafkaOAuth('clientSecret', 'kafka.sasl.oauth.scope=kafka read'),
      'keda.enabled=true',
    ).stdout;
    const all = objects(manifest);
    const trigger = (
      all.find((o) => o.kind === 'ScaledObject')!.spec as { triggers: { metadata: Record<string, string> }[] }
    ).triggers[0].metadata;
    expect(trigger).toMatchObject({ sasl: 'oauthbearer', tls: 'enable' });
    const auth = all.find((o) => o.kind === 'TriggerAuthentication')!.spec as {
      secretTargetRef: { parameter: string; name: string; key: string }[];
      configMapTargetRef: { parameter: string; name: string; key: string }[];
    };
    expect(auth.secretTargetRef).toEqual([{ parameter: 'password', name: 'kafka-oauth', key: 'secret' }]);
    // Each parameter resolves, in the worker's own ConfigMap, to what the worker uses.
    const worker = workload(manifest);
    const resolved = Object.fromEntries(
      auth.configMapTargetRef.map(({ parameter, name, key }) => {
        expect(name).toBe(worker.deployment.metadata.name);
        return [parameter, worker.configMap[key]];
      }),
    );
    expect(resolved).toEqual({
      username: 'triage-kafka',
      oauthTokenEndpointUri: 'https://idp.example/token',
      scopes: 'kafka read',
    });
  });

  it('an http:// token endpoint only with allowInsecureHttp, which the worker and the intake then accept', () => {
    const sets = [
      ...kafkaOAuth('clientSecret'),
      'kafka.sasl.oauth.tokenUrl=http://idp.test/token',
      'intake.enabled=true',
      'intake.orthanc.url=http://orthanc:8042',
    ];
    expect(render(...sets).stderr).toMatch(/kafka.sasl.oauth.tokenUrl is http:\/\/.*allowInsecureHttp/);
    const manifest = render(...sets, 'allowInsecureHttp=true').stdout;
    expect(parseConfig(environmentOf(workload(manifest))).kafka.security).toMatchObject({
      sasl: { client: { tokenUrl: 'http://idp.test/token' } },
    });
    expect(parseIntakeConfig(environmentOf(workload(manifest, 'intake'))).kafka.security).toMatchObject({
      sasl: { client: { tokenUrl: 'http://idp.test/token' } },
    });
  });

  it('refuses what the worker would refuse, and KEDA with a private key, naming the value', () => {
    const refusals: [string[], RegExp][] = [
      [['kafka.sasl.mechanism=oauthbearer'], /kafka.sasl.mechanism=oauthbearer needs kafka.securityProtocol=SASL_SSL/],
      [
        ['kafka.securityProtocol=SASL_SSL', 'kafka.sasl.mechanism=oauthbearer'],
        /SASL_SSL needs kafka.sasl.existingSecret \(a Secret with the OAuth client secret or private key/,
      ],
      // Exactly one of the client secret and the private key.
      [
        [...kafkaOAuth('clientSecret'), 'kafka.sasl.secretKeys.privateKey=key.pem'],
        /needs exactly one of kafka.sasl.secretKeys.clientSecret .* and kafka.sasl.secretKeys.privateKey/,
      ],
      [
        [...kafkaOAuth('clientSecret'), 'kafka.sasl.secretKeys.clientSecret='],
        /needs exactly one of kafka.sasl.secretKeys.clientSecret/,
      ],
      // The token endpoint and the client.
      [[...kafkaOAuth('privateKey'), 'kafka.sasl.oauth.tokenUrl='], /oauthbearer needs kafka.sasl.oauth.tokenUrl/],
      [[...kafkaOAuth('privateKey'), 'kafka.sasl.oauth.clientId='], /oauthbearer needs kafka.sasl.oauth.clientId/],
      // The other credential's settings.
      [
        [...kafkaOAuth('clientSecret'), 'kafka.sasl.oauth.keyId=k1'],
        /kafka.sasl.oauth.keyId is set but only a private key/,
      ],
      [
        [...kafkaOAuth('privateKey'), 'kafka.sasl.oauth.clientAuthMethod=client_secret_post'],
        /kafka.sasl.oauth.clientAuthMethod is set but only a client secret/,
      ],
      // SCRAM's username with OAUTHBEARER, and OAuth settings with SCRAM.
      [
        [...kafkaOAuth('privateKey'), 'kafka.sasl.secretKeys.username=user'],
        /kafka.sasl.secretKeys.username is SCRAM's \(KAFKA_SASL_USERNAME\)/,
      ],
      [
        [...kafkaOAuth('privateKey'), 'kafka.sasl.mechanism=scram-sha-512'],
        /kafka.sasl.oauth.tokenUrl is set but kafka.sasl.mechanism=scram-sha-512 would not use it/,
      ],
      [
        ['kafka.securityProtocol=SASL_SSL', 'kafka.sasl.existingSecret=u', 'kafka.sasl.secretKeys.privateKey=k'],
        /kafka.sasl.secretKeys.privateKey is set but kafka.sasl.mechanism=scram-sha-512/,
      ],
      // In the clear.
      [
        [...kafkaOAuth('clientSecret'), 'kafka.sasl.oauth.tokenUrl=http://idp.example/token'],
        /kafka.sasl.oauth.tokenUrl is http:\/\//,
      ],
      // The NetworkPolicy must let the worker reach the token endpoint.
      [
        [...kafkaOAuth('privateKey'), ...withNetworkPolicy],
        /oauthbearer: networkPolicy.egress.tokenEndpoint must let the worker reach kafka.sasl.oauth.tokenUrl/,
      ],
      // KEDA's Kafka scaler has no private_key_jwt.
      [
        [...kafkaOAuth('privateKey'), 'keda.enabled=true'],
        /keda.enabled with kafka.sasl.secretKeys.privateKey: KEDA 2.21's Kafka scaler .* client secret only/,
      ],
      [
        [...kafkaOAuth('clientSecret'), 'kafka.sasl.oauth.scope=a\\,b', 'keda.enabled=true'],
        /kafka.sasl.oauth.scope contains a comma/,
      ],
      // The schema.
      [['kafka.sasl.mechanism=plain'], /kafka\/sasl\/mechanism/],
      [['kafka.sasl.oauth.clientSecret=hunter2'], /additional properties 'clientSecret' not allowed/],
    ];
    for (const [sets, message] of refusals) {
      const rendered = render(...sets);
      expect({ sets, code: rendered.code }).not.toEqual({ sets, code: 0 });
      expect(rendered.stderr).toMatch(message);
    }
    // SCRAM as before: the username from the Secret's key, the password as a file (default keys).
    const scram = workload(render('kafka.securityProtocol=SASL_SSL', 'kafka.sasl.existingSecret=kafka-user').stdout);
    expect(scram.env).toEqual([
      { name: 'KAFKA_SASL_USERNAME', valueFrom: { secretKeyRef: { name: 'kafka-user', key: 'username' } } },
    ]);
    expect(secretFileAt(scram, `${dir}/password`)).toEqual({ secret: 'kafka-user', key: 'password' });
  });
});

describe.skipIf(!helm)('the intake', () => {
  it('is off by default: nothing of it is rendered', () => {
    const manifest = render().stdout;
    expect(objects(manifest).filter((object) => component(object) === 'intake')).toEqual([]);
  });

  it('intake-values: one replica, Recreate, the image’s intake entry point, probes on its port, locked down', () => {
    const manifest = renderCi('intake-values.yaml').stdout;
    const intake = workload(manifest, 'intake');
    const worker = workload(manifest);
    expect(intake.deployment.spec!.replicas).toBe(1);
    expect(intake.deployment.spec!.strategy).toEqual({ type: 'Recreate' });
    expect(intake.container.image).toBe('covid-ct-triage:0.1.0');
    expect(intake.container.command).toBeUndefined();
    expect(intake.container.args).toEqual([
      'node',
      '--import',
      './dist/apps/intake/src/otel.js',
      'dist/apps/intake/src/main.js',
    ]);
    // The same entry point as `npm run start:intake`.
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts['start:intake']).toBe((intake.container.args as string[]).join(' '));
    expect(intake.container.ports).toEqual([{ name: 'http', containerPort: 3001, protocol: 'TCP' }]);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
      expect(intake.container[probe]).toMatchObject({ httpGet: { port: 'http' } });
    expect(intake.container.readinessProbe).toMatchObject({ httpGet: { path: '/health/ready' } });
    expect(intake.container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
    });
    expect(intake.deployment.spec!.template!.spec).toMatchObject({
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001 },
    });
    expect(intake.container.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
    // Nothing that selects the workers selects the intake's pods, and no PDB for one replica.
    const intakeLabels = intake.deployment.spec!.template!.metadata.labels;
    const selects = (selector: Record<string, string>) =>
      Object.entries(selector).every(([label, value]) => intakeLabels[label] === value);
    const all = objects(manifest);
    const workerSelectors = all
      .filter((o) => component(o) === 'worker')
      .flatMap((object) => {
        const spec = object.spec as { selector?: Record<string, string> & { matchLabels?: Record<string, string> } };
        const selector = spec?.selector?.matchLabels ?? (object.kind === 'Service' ? spec.selector : undefined);
        return selector ? [{ kind: object.kind, selects: selects(selector) }] : [];
      });
    expect(workerSelectors.map((s) => s.kind).toSorted()).toEqual(['Deployment', 'PodDisruptionBudget', 'Service']);
    expect(workerSelectors.filter((s) => s.selects)).toEqual([]);
    expect(all.filter((o) => o.kind === 'PodDisruptionBudget').map(component)).toEqual(['worker']);
    expect(worker.deployment.metadata.name).not.toBe(intake.deployment.metadata.name);
  });

  it('intake-values: its parser takes the ConfigMap value for value; the worker’s Kafka and DICOMweb credentials, Orthanc’s own', () => {
    const manifest = renderCi('intake-values.yaml').stdout;
    const intake = workload(manifest, 'intake');
    const worker = workload(manifest);
    const config = parseIntakeConfig(environmentOf(intake));
    expect(config.source).toEqual({
      kind: 'orthanc',
      store: 'radiology-a',
      orthancUrl: 'https://orthanc.imaging.svc.cluster.local:8043',
      auth: {
        kind: 'basic',
        username: 'triage-intake',
        password: { file: '/etc/covid-ct-triage/orthanc/password' },
      },
    });
    expect(secretFileAt(intake, '/etc/covid-ct-triage/orthanc/password')).toEqual({
      secret: 'orthanc-intake-credentials',
      key: 'password',
    });
    expect(config.kafka).toMatchObject({
      clientId: 'covid-ct-triage-intake',
      studyAvailableTopic: 'triage.study-available.v1',
      stateTopic: 'triage.intake-state.v1',
      transactionalId: 'covid-ct-triage-intake-radiology-a',
    });
    expect(config.completion).toEqual({
      quietPeriodMs: 15_000,
      maxWaitMs: 900_000,
      abandonAfterMs: 86_400_000,
      maxPendingStudies: 1000,
      rememberPublishedMs: 604_800_000,
      maxRememberedStudies: 100_000,
    });
    expect([config.pollIntervalMs, config.tickMs, config.httpPort]).toEqual([1000, 500, 3001]);
    // The worker's Kafka security and archive credentials, the same Secrets mounted at the same paths.
    const workerConfig = parseConfig(environmentOf(worker));
    expect(config.kafka.security).toEqual(workerConfig.kafka.security);
    expect(config.dicomweb).toEqual(workerConfig.dicomweb);
    expect(config.modelManifestPath).toBe(workerConfig.inference.manifestPath);
    const sameVolume = (name: string) => [intake, worker].map((w) => w.volumes.find((v) => v.name === name));
    for (const name of ['kafka-tls', 'kafka-sasl', 'dicomweb-auth']) {
      const [a, b] = sameVolume(name);
      expect(a).toBeDefined();
      expect(a).toEqual(b);
    }
    // No FHIR credentials or variables in the intake.
    expect(intake.volumes.map((v) => v.name)).not.toContain('fhir-auth');
    expect(Object.keys(intake.configMap).filter((name) => name.startsWith('FHIR_'))).toEqual([]);
  });

  it('intake-values: its NetworkPolicy selects only its pods and never reaches the FHIR server', () => {
    const policies = objects(renderCi('intake-values.yaml').stdout).filter((o) => o.kind === 'NetworkPolicy');
    expect(policies.map(component)).toEqual(['worker', 'intake']);
    const [worker, intake] = policies.map((p) => p.spec as { podSelector: { matchLabels: Record<string, string> } });
    expect(intake.podSelector.matchLabels['app.kubernetes.io/name']).toBe('covid-ct-triage-intake');
    expect(worker.podSelector.matchLabels['app.kubernetes.io/name']).toBe('covid-ct-triage');
    const text = byKind(renderCi('intake-values.yaml').stdout).get('NetworkPolicy')!; // the last: the intake's
    expect(text).toMatch(/name: triage-covid-ct-triage-intake/);
    expect(text).toMatch(/# kafka[\s\S]*# archive[\s\S]*# tokenEndpoint/);
    expect(text).not.toMatch(/# fhir|198\.51\.100\.0\/28/);
    // Orthanc elsewhere than the archive: its own destination, for the intake only.
    const own = byKind(
      renderCi(
        'intake-values.yaml',
        'networkPolicy.egress.orthanc[0].cidrs[0]=192.0.2.20/32',
        'networkPolicy.egress.orthanc[0].ports[0].port=8042',
      ).stdout,
    ).get('NetworkPolicy')!;
    expect(own).toMatch(/# orthanc\s+- ports:\s+- port: 8042[\s\S]*cidr: 192.0.2.20\/32/);
  });

  it('polls QIDO-RS without Orthanc settings; the model volume and secretFiles reach it too', () => {
    const manifest = render(
      'intake.enabled=true',
      'intake.source=qido',
      'intake.qido.lookbackDays=3',
      'model.source=persistentVolumeClaim',
      'model.existingClaim=models',
      'secretFiles[0].name=ca',
      'secretFiles[0].existingSecret=ca',
      'secretFiles[0].env.HTTPS_CA_FILE=ca.pem',
      'telemetry.otlpEndpoint=http://collector:4318',
    ).stdout;
    const intake = workload(manifest, 'intake');
    expect(Object.keys(intake.configMap).filter((name) => name.startsWith('INTAKE_ORTHANC'))).toEqual([]);
    const config = parseIntakeConfig(environmentOf(intake));
    expect(config.source).toEqual({ kind: 'qido', store: 'archive', lookbackDays: 3 });
    expect(config.https.caFile).toBe('/etc/covid-ct-triage/secrets/ca/ca.pem');
    expect(secretFileAt(intake, config.https.caFile!)).toEqual({ secret: 'ca', key: 'ca.pem' });
    expect(intake.mounts).toContainEqual({ name: 'model', mountPath: '/models', readOnly: true });
    expect(intake.configMap.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://collector:4318');
  });

  it('refuses what the intake would refuse, naming the value', () => {
    const on = ['intake.enabled=true'];
    const orthanc = [...on, 'intake.orthanc.url=https://orthanc.example'];
    const refusals: [string[], RegExp][] = [
      [on, /intake.source=orthanc needs intake.orthanc.url/],
      [
        [...orthanc, 'intake.orthanc.auth=basic', 'intake.orthanc.existingSecret=s'],
        /intake.orthanc.auth=basic needs intake.orthanc.username/,
      ],
      [[...orthanc, 'intake.orthanc.auth=bearer'], /intake.orthanc.auth=bearer needs intake.orthanc.existingSecret/],
      [
        [
          ...on,
          'intake.orthanc.url=http://orthanc:8042',
          'intake.orthanc.auth=bearer',
          'intake.orthanc.existingSecret=s',
        ],
        /intake.orthanc.url is http:\/\/.*allowInsecureHttp/,
      ],
      [
        [
          ...orthanc,
          'intake.orthanc.auth=client-credentials',
          'intake.orthanc.existingSecret=s',
          'intake.orthanc.oauth.tokenUrl=https://idp.example/token',
          'intake.orthanc.oauth.clientId=intake',
          ...withNetworkPolicy,
        ],
        /intake.orthanc.auth=client-credentials: networkPolicy.egress.tokenEndpoint must let the intake reach/,
      ],
      [
        [...on, 'intake.source=qido', 'intake.orthanc.url=https://orthanc.example'],
        /intake.orthanc is set but intake.source=qido/,
      ],
      [
        [...orthanc, 'intake.maxWaitMs=5000'],
        /intake.maxWaitMs \(5000\) must be at least intake.quietPeriodMs \(10000\)/,
      ],
      [[...orthanc, 'intake.abandonAfterMs=600000'], /intake.abandonAfterMs \(600000\) must exceed intake.maxWaitMs/],
      [[...orthanc, 'metrics.enabled=true', 'metrics.port=3001'], /metrics.port \(3001\) is intake.httpPort/],
      // The schema.
      [[...orthanc, 'intake.source=pubsub'], /intake\/source/],
      [[...orthanc, 'intake.store=Radiology'], /intake\/store/],
      [[...orthanc, 'intake.quietPeriodMs=50'], /intake\/quietPeriodMs/],
      [[...orthanc, 'intake.replicaCount=2'], /additional properties 'replicaCount' not allowed/],
      [[...orthanc, 'intake.kafka.stateTopic=state topic'], /intake\/kafka\/stateTopic/],
    ];
    for (const [sets, message] of refusals) {
      const rendered = render(...sets);
      expect({ sets, code: rendered.code }).not.toEqual({ sets, code: 0 });
      expect(rendered.stderr).toMatch(message);
    }
  });
});

describe.skipIf(!helm)('the intake’s cloud sources and the cloud DICOMweb credentials', () => {
  const on = ['intake.enabled=true'];
  const store = 'projects/p/locations/europe-west4/datasets/d/dicomStores/s';

  it('intake-cloud-values: Event Grid pushes to a ClusterIP Service on the push port, the token and the Azure client secret files from Secrets', () => {
    const manifest = renderCi('intake-cloud-values.yaml').stdout;
    const intake = workload(manifest, 'intake');
    const config = parseIntakeConfig(environmentOf(intake));
    expect(config.source).toEqual({
      kind: 'azure-event-grid',
      store: 'azure-radiology',
      serviceHost: 'radiology-dicom.dicom.azurehealthcareapis.com',
      partition: 'Microsoft.Default',
      push: { port: 3002, token: { file: '/etc/covid-ct-triage/intake-push/token' } },
    });
    expect(secretFileAt(intake, '/etc/covid-ct-triage/intake-push/token')).toEqual({
      secret: 'intake-push-token',
      key: 'token',
    });
    const azure = {
      kind: 'azure',
      scope: 'https://dicom.healthcareapis.azure.com/.default',
      clientId: '0a1b2c3d-4e5f-6789-abcd-ef0123456789',
      secret: {
        tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        clientSecret: { file: '/etc/covid-ct-triage/dicomweb/client-secret' },
      },
    };
    expect(config.dicomweb.auth).toEqual(azure);
    expect(parseConfig(environmentOf(workload(manifest))).dicomweb.auth).toEqual(azure);
    expect(secretFileAt(intake, '/etc/covid-ct-triage/dicomweb/client-secret')).toEqual({
      secret: 'azure-dicom-client',
      key: 'client-secret',
    });
    expect(intake.container.ports).toContainEqual({ name: 'push', containerPort: 3002, protocol: 'TCP' });
    const services = objects(manifest).filter((object) => object.kind === 'Service' && component(object) === 'intake');
    expect(services).toHaveLength(1);
    expect(services[0].spec).toMatchObject({
      type: 'ClusterIP',
      selector: intake.deployment.spec!.selector!.matchLabels,
      ports: [{ name: 'push', port: 3002, targetPort: 'push', protocol: 'TCP' }],
    });
    const policy = objects(manifest).find(
      (object) => object.kind === 'NetworkPolicy' && component(object) === 'intake',
    )!;
    expect(policy.spec!['ingress']).toContainEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
      ports: [{ port: 'push', protocol: 'TCP' }],
    });
    // The worker's NetworkPolicy opens no push port.
    const worker = objects(manifest).find(
      (object) => object.kind === 'NetworkPolicy' && component(object) === 'worker',
    )!;
    expect(JSON.stringify(worker.spec!['ingress'])).not.toContain('push');
  });

  it.each([
    [
      'google-pubsub',
      [
        `intake.google.dicomStore=${store}`,
        'intake.google.subscription=projects/p/subscriptions/dicom',
        'intake.google.maxMessages=50',
      ],
      {
        kind: 'google-pubsub',
        store: 'archive',
        dicomStore: store,
        subscription: 'projects/p/subscriptions/dicom',
        maxMessages: 50,
      },
    ],
    [
      'google-pubsub-push',
      [`intake.google.dicomStore=${store}`, 'intake.push.existingSecret=push', 'intake.push.port=8443'],
      {
        kind: 'google-pubsub-push',
        store: 'archive',
        dicomStore: store,
        push: { port: 8443, token: { file: '/etc/covid-ct-triage/intake-push/token' } },
      },
    ],
    [
      'azure-change-feed',
      ['intake.azure.changeFeedPage=100'],
      { kind: 'azure-change-feed', store: 'archive', pageSize: 100 },
    ],
    [
      'aws-healthimaging-sqs',
      [
        'intake.aws.region=eu-west-1',
        `intake.aws.datastoreId=${'a'.repeat(32)}`,
        'intake.aws.queueUrl=https://sqs.eu-west-1.amazonaws.com/123456789012/image-sets',
        'intake.aws.sqsEndpoint=https://vpce.sqs.example',
      ],
      {
        kind: 'aws-healthimaging-sqs',
        store: 'archive',
        region: 'eu-west-1',
        datastoreId: 'a'.repeat(32),
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/image-sets',
        sqsEndpoint: 'https://vpce.sqs.example',
      },
    ],
  ] as const)(
    '%s: the intake parses the rendered source; a Service only for a pushed source',
    (source, sets, expected) => {
      const rendered = render(...on, `intake.source=${source}`, ...sets);
      expect(rendered.stderr).toBe('');
      const intake = workload(rendered.stdout, 'intake');
      expect(parseIntakeConfig(environmentOf(intake)).source).toEqual(expected);
      const services = objects(rendered.stdout).filter(
        (object) => object.kind === 'Service' && component(object) === 'intake',
      );
      expect(services).toHaveLength(source === 'google-pubsub-push' ? 1 : 0);
      const token = intake.configMap.INTAKE_PUSH_TOKEN_FILE;
      expect(token && secretFileAt(intake, token)).toEqual(
        source === 'google-pubsub-push' ? { secret: 'push', key: 'token' } : undefined,
      );
    },
  );

  it('dicomweb.auth google (a key file, or ADC), azure (managed identity) and aws-sigv4 (no Secret, no volume), for the worker and the intake', () => {
    const cases: [string[], unknown, string | undefined][] = [
      [
        [
          'dicomweb.auth=google',
          'dicomweb.existingSecret=sa',
          'dicomweb.secretKeys.googleKey=sa.json',
          'dicomweb.google.scope=https://www.googleapis.com/auth/cloud-platform',
        ],
        {
          kind: 'google',
          scope: 'https://www.googleapis.com/auth/cloud-platform',
          keyFile: '/etc/covid-ct-triage/dicomweb/google-key.json',
        },
        'sa.json',
      ],
      [
        ['dicomweb.auth=google'],
        { kind: 'google', scope: 'https://www.googleapis.com/auth/cloud-healthcare' },
        undefined,
      ],
      [
        ['dicomweb.auth=azure', 'dicomweb.azure.clientId=mi-client'],
        { kind: 'azure', scope: 'https://dicom.healthcareapis.azure.com/.default', clientId: 'mi-client' },
        undefined,
      ],
      [
        ['dicomweb.auth=aws-sigv4', 'dicomweb.aws.region=us-east-1'],
        { kind: 'aws-sigv4', region: 'us-east-1', service: 'medical-imaging' },
        undefined,
      ],
    ];
    for (const [sets, auth, key] of cases) {
      const rendered = render(...on, 'intake.source=qido', 'dicomweb.baseUrl=https://dicom.example/v1', ...sets);
      expect({ sets, stderr: rendered.stderr }).toEqual({ sets, stderr: '' });
      for (const name of ['worker', 'intake'] as const) {
        const w = workload(rendered.stdout, name);
        const parser = name === 'worker' ? parseConfig : parseIntakeConfig;
        expect(parser(environmentOf(w)).dicomweb.auth).toEqual(auth);
        const volume = w.volumes.find((v) => v.name === 'dicomweb-auth');
        expect(volume?.secret?.items?.[0]?.key).toBe(key);
        expect(w.mounts.some((m) => m.name === 'dicomweb-auth')).toBe(key !== undefined);
      }
    }
  });

  it('refuses what the intake and the services would refuse, naming the value', () => {
    const refusals: [string[], RegExp][] = [
      [
        [...on, 'intake.source=google-pubsub', 'intake.google.subscription=projects/p/subscriptions/s'],
        /intake.source=google-pubsub needs intake.google.dicomStore/,
      ],
      [
        [...on, 'intake.source=google-pubsub', `intake.google.dicomStore=${store}`],
        /intake.source=google-pubsub needs intake.google.subscription/,
      ],
      [
        [...on, 'intake.source=google-pubsub-push', `intake.google.dicomStore=${store}`],
        /intake.source=google-pubsub-push needs intake.push.existingSecret/,
      ],
      [[...on, 'intake.source=azure-event-grid'], /intake.source=azure-event-grid needs intake.push.existingSecret/],
      [
        [...on, 'intake.source=aws-healthimaging-sqs', 'intake.aws.region=eu-west-1'],
        /intake.source=aws-healthimaging-sqs needs intake.aws.datastoreId/,
      ],
      [
        [...on, 'intake.source=qido', 'intake.push.existingSecret=push'],
        /intake.push.existingSecret is set but intake.source=qido would not use it/,
      ],
      [
        [...on, 'intake.source=azure-change-feed', 'intake.aws.region=eu-west-1'],
        /intake.aws.region is set but intake.source=azure-change-feed/,
      ],
      [
        [...on, 'intake.source=azure-event-grid', 'intake.push.existingSecret=p', 'intake.push.port=3001'],
        /intake.push.port \(3001\) is intake.httpPort/,
      ],
      [
        ['dicomweb.auth=azure', 'dicomweb.existingSecret=s', 'dicomweb.azure.clientId=c'],
        /dicomweb.auth=azure with dicomweb.existingSecret .* needs dicomweb.azure.tenantId/,
      ],
      [
        ['dicomweb.auth=azure', 'dicomweb.azure.tenantId=t'],
        /dicomweb.azure.tenantId is only used with a client secret/,
      ],
      [['dicomweb.auth=aws-sigv4'], /dicomweb.auth=aws-sigv4 needs dicomweb.aws.region/],
      [
        ['dicomweb.auth=aws-sigv4', 'dicomweb.aws.region=us-east-1', 'dicomweb.existingSecret=s'],
        /dicomweb.existingSecret is set but dicomweb.auth=aws-sigv4 would not use it/,
      ],
      [
        ['dicomweb.auth=bearer', 'dicomweb.existingSecret=s', 'dicomweb.aws.region=us-east-1'],
        /dicomweb.aws.region is set but dicomweb.auth=bearer would not use it/,
      ],
      [
        ['dicomweb.auth=google', ...withNetworkPolicy],
        /dicomweb.auth=google: networkPolicy.egress.tokenEndpoint must let the worker reach/,
      ],
      // The schema.
      [[...on, 'intake.source=google-pubsub', 'intake.google.dicomStore=store'], /intake\/google\/dicomStore/],
      [[...on, 'intake.source=aws-healthimaging-sqs', 'intake.aws.datastoreId=short'], /intake\/aws\/datastoreId/],
      [[...on, 'intake.source=azure-change-feed', 'intake.azure.changeFeedPage=500'], /intake\/azure\/changeFeedPage/],
      [['dicomweb.auth=kerberos'], /dicomweb\/auth/],
    ];
    for (const [sets, message] of refusals) {
      const rendered = render(...sets);
      expect({ sets, code: rendered.code }).not.toEqual({ sets, code: 0 });
      expect(rendered.stderr).toMatch(message);
    }
  });
});
