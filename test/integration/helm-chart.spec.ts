import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@app/config';
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
