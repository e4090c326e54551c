import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@app/config';
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

/** The worker as rendered, parsed as YAML (1.1, as Kubernetes reads it: defaultMode 0440 is octal). */
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
}
function workload(manifest: string): Workload {
  const objects = parseAllDocuments(manifest, { version: '1.1' })
    .map((doc) => doc.toJS() as { kind?: string; data?: Record<string, string>; spec?: unknown } | null)
    .filter((object) => object?.kind);
  const configMap = objects.find((object) => object!.kind === 'ConfigMap')!.data!;
  const { spec } = objects.find((object) => object!.kind === 'Deployment')! as {
    spec: { template: { spec: { containers: Record<string, unknown>[]; volumes: Workload['volumes'] } } };
  };
  const worker = spec.template.spec.containers.find((container) => container.name === 'worker')!;
  return {
    configMap,
    env: (worker.env ?? []) as EnvVar[],
    mounts: worker.volumeMounts as Workload['mounts'],
    volumes: spec.template.spec.volumes,
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
  it('are the six: default, GPU, KEDA, NetworkPolicy on, secrets as files, OAuth2 for both HTTP servers', () => {
    expect(CI_VALUES).toEqual([
      'default-values.yaml',
      'gpu-values.yaml',
      'keda-values.yaml',
      'networkpolicy-values.yaml',
      'oauth-values.yaml',
      'secret-files-values.yaml',
    ]);
  });

  it.each(CI_VALUES)(
    '%s: the worker’s own parser accepts the whole rendered environment, each *_FILE a mounted Secret file',
    (file) => {
      const rendered = workload(renderCi(file).stdout);
      const environment = environmentOf(rendered);
      expect(() => parseConfig(environment)).not.toThrow();
      for (const [variable, path] of Object.entries(environment).filter(([name]) => name.endsWith('_FILE'))) {
        expect({ variable, file: secretFileAt(rendered, path) }).toEqual({ variable, file: expect.anything() });
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
