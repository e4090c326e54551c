import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@app/config';
import { telemetrySettings } from '@app/telemetry';
import { describe, expect, it } from 'vitest';

/**
 * The worker's Helm chart. Always: the templates, values.yaml and values.schema.json agree.
 * With a real `helm` (on PATH or built by `bash scripts/lib/helm.sh install`): lint, render,
 * and the refusals; the rendered ConfigMap is fed to the worker's own configuration parser.
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
    const values = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    expect(values).not.toMatch(/^\s*(password|token|username)\s*:\s*\S+(?<!: (password|token|username))$/m);
    expect(schema.properties!.dicomweb.properties).not.toHaveProperty('password');
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

  it('takes credentials only by Secret reference', () => {
    const rendered = render(
      'dicomweb.auth=basic',
      'dicomweb.existingSecret=pacs-credentials',
      'fhir.existingSecret=fhir-token',
    );
    expect(rendered.stderr).toBe('');
    expect(rendered.code).toBe(0);
    const deployment = byKind(rendered.stdout).get('Deployment')!;
    for (const [variable, secret] of [
      ['DICOMWEB_USERNAME', 'pacs-credentials'],
      ['DICOMWEB_PASSWORD', 'pacs-credentials'],
      ['FHIR_BEARER_TOKEN', 'fhir-token'],
    ]) {
      expect(deployment).toMatch(new RegExp(`- name: ${variable}\\s+valueFrom:\\s+secretKeyRef:\\s+name: ${secret}`));
    }
    expect(render('dicomweb.password=hunter2').stderr).toMatch(/additional properties 'password' not allowed/i);
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
  it('are the five the issue names: default, GPU, KEDA, NetworkPolicy on, secrets as files', () => {
    expect(CI_VALUES).toEqual([
      'default-values.yaml',
      'gpu-values.yaml',
      'keda-values.yaml',
      'networkpolicy-values.yaml',
      'secret-files-values.yaml',
    ]);
  });

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
    expect(parseConfig(configMapData(renderCi('gpu-values.yaml').stdout)).inference.executionProviders).toEqual([
      'cuda',
      'cpu',
    ]);
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
