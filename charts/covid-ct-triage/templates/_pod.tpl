{{/*
What the worker's and the intake's pods share: Kafka's security settings, Secrets as files and
variables, the model set, OpenTelemetry. Each Deployment includes these with its own list of HTTP
servers (worker: dicomweb, fhir; intake: dicomweb and, with the Orthanc source, orthanc).
*/}}

{{/* The intake's objects: their own name and selector (app.kubernetes.io/name <name>-intake), so
that nothing selecting the workers (their Service, PDB, autoscaler, spread) ever counts it. */}}
{{- define "covid-ct-triage.intakeFullname" -}}
{{- printf "%s-intake" (include "covid-ct-triage.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{- define "covid-ct-triage.intakeSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-intake" (include "covid-ct-triage.name" . | trunc 56 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "covid-ct-triage.intakeLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "covid-ct-triage.intakeSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: intake
app.kubernetes.io/part-of: {{ include "covid-ct-triage.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The intake's pushed sources (google-pubsub-push, azure-event-grid): "true" or "". */}}
{{- define "covid-ct-triage.intakePushed" -}}
{{- if and .Values.intake.enabled (has .Values.intake.source (list "google-pubsub-push" "azure-event-grid")) }}true{{ end }}
{{- end }}

{{/* Where the push endpoint's shared token (intake.push.existingSecret) is mounted. */}}
{{- define "covid-ct-triage.intakePushDir" -}}/etc/covid-ct-triage/intake-push{{- end }}

{{/* The HTTP servers whose credentials a component uses ({root, component}), as a YAML list. */}}
{{- define "covid-ct-triage.httpServers" -}}
{{- if eq .component "intake" }}
{{- toYaml (ternary (list "dicomweb" "orthanc") (list "dicomweb") (eq .root.Values.intake.source "orthanc")) }}
{{- else }}
{{- toYaml (list "dicomweb" "fhir") }}
{{- end }}
{{- end }}

{{/* Kafka's SASL secret for the mechanism: {key (of kafka.sasl.existingSecret), file, setting}. */}}
{{- define "covid-ct-triage.kafkaSaslSecretPart" -}}
{{- $sasl := .Values.kafka.sasl }}
{{- if ne $sasl.mechanism "oauthbearer" }}
{{- toYaml (dict "key" ($sasl.secretKeys.password | default "password") "file" "password" "setting" "KAFKA_SASL_PASSWORD_FILE") }}
{{- else if $sasl.secretKeys.privateKey }}
{{- toYaml (dict "key" $sasl.secretKeys.privateKey "file" "private-key.pem" "setting" "KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE") }}
{{- else }}
{{- toYaml (dict "key" $sasl.secretKeys.clientSecret "file" "client-secret" "setting" "KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE") }}
{{- end }}
{{- end }}

{{/*
Kafka's security settings (ConfigMap entries, the same for both components): the protocol, the TLS
files, and with SASL_SSL the mechanism, the SCRAM password file or the OAUTHBEARER client (its
non-secret settings, and its client secret or private key as a file).
*/}}
{{- define "covid-ct-triage.kafkaSecurityConfig" -}}
KAFKA_SECURITY_PROTOCOL: {{ .Values.kafka.securityProtocol | quote }}
{{- with .Values.kafka.tls }}
{{- if and .existingSecret .secretKeys.ca }}
KAFKA_SSL_CA_FILE: "{{ include "covid-ct-triage.kafkaTlsDir" $ }}/ca.pem"
{{- end }}
{{- if and .existingSecret .secretKeys.cert }}
KAFKA_SSL_CERT_FILE: "{{ include "covid-ct-triage.kafkaTlsDir" $ }}/client.crt"
KAFKA_SSL_KEY_FILE: "{{ include "covid-ct-triage.kafkaTlsDir" $ }}/client.key"
{{- end }}
{{- end }}
{{- if eq .Values.kafka.securityProtocol "SASL_SSL" }}
{{- $sasl := .Values.kafka.sasl }}
KAFKA_SASL_MECHANISM: {{ $sasl.mechanism | quote }}
{{- if eq $sasl.mechanism "oauthbearer" }}
{{- include "covid-ct-triage.oauthClientConfig" (dict "prefix" "KAFKA_SASL_OAUTH" "kind" (ternary "private-key-jwt" "client-credentials" (not (empty $sasl.secretKeys.privateKey))) "oauth" $sasl.oauth) }}
{{- end }}
{{- with include "covid-ct-triage.kafkaSaslSecretPart" . | fromYaml }}
{{ .setting }}: "{{ include "covid-ct-triage.kafkaSaslDir" $ }}/{{ .file }}"
{{- end }}
{{- end }}
{{- end }}

{{/* OpenTelemetry's own variables (ConfigMap entries), read by its SDK (docs/telemetry.md); none: no telemetry. */}}
{{- define "covid-ct-triage.otelConfig" -}}
{{- with .Values.telemetry.otlpEndpoint }}
# OpenTelemetry's own variables, read by its SDK (docs/telemetry.md); absent: no telemetry.
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ $.Values.telemetry.otlpProtocol | quote }}
OTEL_TRACES_SAMPLER: {{ $.Values.telemetry.sampler | quote }}
{{- with $.Values.telemetry.samplerArg }}
OTEL_TRACES_SAMPLER_ARG: {{ . | quote }}
{{- end }}
OTEL_METRIC_EXPORT_INTERVAL: {{ $.Values.telemetry.metricExportIntervalMs | quote }}
{{- with $.Values.telemetry.resourceAttributes }}
OTEL_RESOURCE_ATTRIBUTES: {{ . | quote }}
{{- end }}
{{- end }}
{{- if .Values.metrics.enabled }}
# The SDK's Prometheus exporter serves /metrics on this port (beside OTLP when an endpoint is set).
OTEL_METRICS_EXPORTER: {{ ternary "otlp,prometheus" "prometheus" (not (empty .Values.telemetry.otlpEndpoint)) | quote }}
OTEL_EXPORTER_PROMETHEUS_PORT: {{ .Values.metrics.port | quote }}
{{- end }}
{{- end }}

{{/* Secrets taken as variables (by reference only) and the secretFiles' *_FILE variables; the HTTP
servers' and Kafka's secrets are files named in the ConfigMap. */}}
{{- define "covid-ct-triage.sharedEnv" -}}
{{- if and (eq .Values.kafka.securityProtocol "SASL_SSL") (ne .Values.kafka.sasl.mechanism "oauthbearer") }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.secretKeys.username | default "username" }}
{{- end }}
{{- if .Values.telemetry.existingSecret }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.telemetry.existingSecret }}
      key: {{ .Values.telemetry.secretKeys.headers }}
{{- end }}
{{- range .Values.secretFiles }}
{{- $dir := printf "%s/%s" (include "covid-ct-triage.secretFilesDir" $) .name }}
{{- range $variable, $file := .env }}
- name: {{ $variable }}
  value: {{ printf "%s/%s" $dir $file | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The worker's env list: the shared variables, then NODE_OPTIONS and worker.extraEnv. */}}
{{- define "covid-ct-triage.env" -}}
{{- include "covid-ct-triage.sharedEnv" . }}
{{- with .Values.worker.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.worker.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}

{{/* A container's volume mounts ({root, component}): /tmp, Kafka's Secrets, the servers' credentials, secretFiles, the model. */}}
{{- define "covid-ct-triage.volumeMounts" -}}
{{- $root := .root }}
- name: tmp
  mountPath: /tmp
{{- if $root.Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: {{ include "covid-ct-triage.kafkaTlsDir" $root }}
  readOnly: true
{{- end }}
{{- if $root.Values.kafka.sasl.existingSecret }}
- name: kafka-sasl
  mountPath: {{ include "covid-ct-triage.kafkaSaslDir" $root }}
  readOnly: true
{{- end }}
{{- include "covid-ct-triage.httpAuthVolumeMounts" (dict "root" $root "servers" (include "covid-ct-triage.httpServers" . | fromYamlArray)) }}
{{- if and (eq .component "intake") (include "covid-ct-triage.intakePushed" $root) }}
- name: intake-push
  mountPath: {{ include "covid-ct-triage.intakePushDir" $root }}
  readOnly: true
{{- end }}
{{- range $root.Values.secretFiles }}
- name: secret-{{ .name }}
  mountPath: {{ include "covid-ct-triage.secretFilesDir" $root }}/{{ .name }}
  readOnly: true
{{- end }}
{{- if ne $root.Values.model.source "image" }}
- name: model
  mountPath: {{ $root.Values.model.mountPath }}
  readOnly: true
  {{- with $root.Values.model.subPath }}
  subPath: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* A pod's volumes ({root, component, tmpSizeLimit}), matching covid-ct-triage.volumeMounts. */}}
{{- define "covid-ct-triage.volumes" -}}
{{- $root := .root }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .tmpSizeLimit }}
{{- with $root.Values.kafka.tls }}
{{- if .existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .existingSecret }}
    defaultMode: 0440
    items:
      {{- with .secretKeys.ca }}
      - key: {{ . }}
        path: ca.pem
      {{- end }}
      {{- if .secretKeys.cert }}
      - key: {{ .secretKeys.cert }}
        path: client.crt
      - key: {{ .secretKeys.key }}
        path: client.key
      {{- end }}
{{- end }}
{{- end }}
{{- if $root.Values.kafka.sasl.existingSecret }}
{{- /* Only the mechanism's secret: the SCRAM password, or the OAuth client secret or private key (re-read when kubelet swaps it). */}}
- name: kafka-sasl
  secret:
    secretName: {{ $root.Values.kafka.sasl.existingSecret }}
    defaultMode: 0440
    items:
      {{- with include "covid-ct-triage.kafkaSaslSecretPart" $root | fromYaml }}
      - key: {{ .key }}
        path: {{ .file }}
      {{- end }}
{{- end }}
{{- include "covid-ct-triage.httpAuthVolumes" (dict "root" $root "servers" (include "covid-ct-triage.httpServers" . | fromYamlArray)) }}
{{- if and (eq .component "intake") (include "covid-ct-triage.intakePushed" $root) }}
- name: intake-push
  secret:
    secretName: {{ $root.Values.intake.push.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $root.Values.intake.push.secretKeys.token }}
        path: token
{{- end }}
{{- range $root.Values.secretFiles }}
- name: secret-{{ .name }}
  secret:
    secretName: {{ .existingSecret }}
    defaultMode: 0440
    {{- with .items }}
    items:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end }}
{{- if eq $root.Values.model.source "persistentVolumeClaim" }}
- name: model
  persistentVolumeClaim:
    claimName: {{ $root.Values.model.existingClaim }}
    readOnly: true
{{- else if eq $root.Values.model.source "imageVolume" }}
- name: model
  # An OCI image or artifact, mounted read-only by the kubelet (ImageVolume).
  image:
    reference: {{ $root.Values.model.ociImage.reference }}
    pullPolicy: {{ $root.Values.model.ociImage.pullPolicy }}
{{- end }}
{{- end }}

{{/*
One component's NetworkPolicy ({root, component}): ingress only to its health (and metrics) port
from networkPolicy.ingress; egress only to DNS and its destinations. The worker: Kafka, the archive,
FHIR, the token endpoint, the collector, extra. The intake: Kafka, the archive, Orthanc's REST API
(networkPolicy.egress.orthanc, where it is not an archive destination already), the token endpoint,
the collector, extra.
*/}}
{{- define "covid-ct-triage.networkPolicy" -}}
{{- $root := .root }}
{{- $intake := eq .component "intake" }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ ternary (include "covid-ct-triage.intakeFullname" $root) (include "covid-ct-triage.fullname" $root) $intake }}
  labels:
    {{- ternary (include "covid-ct-triage.intakeLabels" $root) (include "covid-ct-triage.labels" $root) $intake | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- ternary (include "covid-ct-triage.intakeSelectorLabels" $root) (include "covid-ct-triage.selectorLabels" $root) $intake | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    {{- with $root.Values.networkPolicy.ingress }}
    {{- $from := list }}
    {{- range .cidrs }}
    {{- $from = append $from (dict "ipBlock" (dict "cidr" .)) }}
    {{- end }}
    {{- if or .namespaceSelector .podSelector }}
    {{- $peer := dict }}
    {{- with .namespaceSelector }}{{ $_ := set $peer "namespaceSelector" . }}{{ end }}
    {{- with .podSelector }}{{ $_ := set $peer "podSelector" . }}{{ end }}
    {{- $from = append $from $peer }}
    {{- end }}
    {{- $ports := list (dict "port" "http" "protocol" "TCP") }}
    {{- if $root.Values.metrics.enabled }}
    {{- $ports = append $ports (dict "port" "metrics" "protocol" "TCP") }}
    {{- end }}
    {{- /* No peer configured: any source, still only these ports. */}}
    {{- $rule := dict "ports" $ports }}
    {{- with $from }}{{ $_ := set $rule "from" . }}{{ end }}
    {{- toYaml (list $rule) | nindent 4 }}
    {{- end }}
    {{- if and $intake (include "covid-ct-triage.intakePushed" $root) }}
    {{- /* The push endpoint: from intake.push.ingress (the Ingress controller, the platform's CIDRs); none configured: any source, this port only. */}}
    {{- $push := $root.Values.intake.push.ingress }}
    {{- $from := list }}
    {{- range $push.cidrs }}
    {{- $from = append $from (dict "ipBlock" (dict "cidr" .)) }}
    {{- end }}
    {{- if or $push.namespaceSelector $push.podSelector }}
    {{- $peer := dict }}
    {{- with $push.namespaceSelector }}{{ $_ := set $peer "namespaceSelector" . }}{{ end }}
    {{- with $push.podSelector }}{{ $_ := set $peer "podSelector" . }}{{ end }}
    {{- $from = append $from $peer }}
    {{- end }}
    {{- $rule := dict "ports" (list (dict "port" "push" "protocol" "TCP")) }}
    {{- with $from }}{{ $_ := set $rule "from" . }}{{ end }}
    # push
    {{- toYaml (list $rule) | nindent 4 }}
    {{- end }}
  egress:
    {{- $egress := $root.Values.networkPolicy.egress }}
    {{- include "covid-ct-triage.networkPolicyRule" $egress.dns | nindent 4 }}
    {{- $names := ternary (list "kafka" "archive" "orthanc" "tokenEndpoint" "otlp" "extra") (list "kafka" "archive" "fhir" "tokenEndpoint" "otlp" "extra") $intake }}
    {{- range $name := $names }}
    {{- range (index $egress $name) }}
    # {{ $name }}
    {{- include "covid-ct-triage.networkPolicyRule" . | nindent 4 }}
    {{- end }}
    {{- end }}
{{- end }}
