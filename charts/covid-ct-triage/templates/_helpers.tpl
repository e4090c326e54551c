{{/* Names and labels shared by every object of the release. */}}
{{- define "covid-ct-triage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "covid-ct-triage.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "covid-ct-triage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "covid-ct-triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "covid-ct-triage.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "covid-ct-triage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: worker
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "covid-ct-triage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "covid-ct-triage.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Refuse settings that cannot work, with a message naming the value. */}}
{{- define "covid-ct-triage.validate" -}}
{{- $partitions := int .Values.kafka.studyAvailablePartitions }}
{{- if gt (int .Values.replicaCount) $partitions }}
{{- fail (printf "replicaCount (%d) exceeds kafka.studyAvailablePartitions (%d): the extra replicas would get no partition" (int .Values.replicaCount) $partitions) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) $partitions) }}
{{- fail (printf "autoscaling.maxReplicas (%d) exceeds kafka.studyAvailablePartitions (%d): scaling past the partition count is useless" (int .Values.autoscaling.maxReplicas) $partitions) }}
{{- end }}
{{- if and (ne .Values.dicomweb.auth "none") (not .Values.dicomweb.existingSecret) }}
{{- fail (printf "dicomweb.auth=%s needs dicomweb.existingSecret (a Secret with the credentials; never put them in values)" .Values.dicomweb.auth) }}
{{- end }}
{{- if gt (mul (int .Values.kafka.heartbeatIntervalMs) 3) (int .Values.kafka.sessionTimeoutMs) }}
{{- fail "kafka.heartbeatIntervalMs must be at most a third of kafka.sessionTimeoutMs" }}
{{- end }}
{{- $kafkaTls := .Values.kafka.tls }}
{{- if and (eq .Values.kafka.securityProtocol "PLAINTEXT") $kafkaTls.existingSecret }}
{{- fail "kafka.tls.existingSecret is set but kafka.securityProtocol=PLAINTEXT would not use it" }}
{{- end }}
{{- if ne (not $kafkaTls.secretKeys.cert) (not $kafkaTls.secretKeys.key) }}
{{- fail "kafka.tls.secretKeys.cert and kafka.tls.secretKeys.key: a client certificate needs both" }}
{{- end }}
{{- if and (or $kafkaTls.secretKeys.cert $kafkaTls.secretKeys.key) (not $kafkaTls.existingSecret) }}
{{- fail "kafka.tls.secretKeys.cert/key need kafka.tls.existingSecret (a Secret with the client certificate)" }}
{{- end }}
{{- if and (eq .Values.kafka.securityProtocol "SASL_SSL") (not .Values.kafka.sasl.existingSecret) }}
{{- fail "kafka.securityProtocol=SASL_SSL needs kafka.sasl.existingSecret (a Secret with the username and password; never put them in values)" }}
{{- end }}
{{- if and (ne .Values.kafka.securityProtocol "SASL_SSL") .Values.kafka.sasl.existingSecret }}
{{- fail (printf "kafka.sasl.existingSecret is set but kafka.securityProtocol=%s would not use it" .Values.kafka.securityProtocol) }}
{{- end }}
{{- if and (eq .Values.model.source "persistentVolumeClaim") (not .Values.model.existingClaim) }}
{{- fail "model.source=persistentVolumeClaim needs model.existingClaim" }}
{{- end }}
{{- if and (eq .Values.model.source "imageVolume") (not .Values.model.ociImage.reference) }}
{{- fail "model.source=imageVolume needs model.ociImage.reference (the OCI image or artifact holding the model sets)" }}
{{- end }}
{{- if and .Values.keda.enabled .Values.autoscaling.enabled }}
{{- fail "keda.enabled and autoscaling.enabled: KEDA creates its own HorizontalPodAutoscaler, two would fight over the replicas; enable one" }}
{{- end }}
{{- if .Values.keda.enabled }}
{{- if gt (int .Values.keda.maxReplicaCount) $partitions }}
{{- fail (printf "keda.maxReplicaCount (%d) exceeds kafka.studyAvailablePartitions (%d): a consumer beyond the partition count gets no partition" (int .Values.keda.maxReplicaCount) $partitions) }}
{{- end }}
{{- if gt (int .Values.keda.minReplicaCount) (int .Values.keda.maxReplicaCount) }}
{{- fail (printf "keda.minReplicaCount (%d) exceeds keda.maxReplicaCount (%d)" (int .Values.keda.minReplicaCount) (int .Values.keda.maxReplicaCount)) }}
{{- end }}
{{- if gt (int .Values.keda.fallback.replicas) (int .Values.keda.maxReplicaCount) }}
{{- fail (printf "keda.fallback.replicas (%d) exceeds keda.maxReplicaCount (%d)" (int .Values.keda.fallback.replicas) (int .Values.keda.maxReplicaCount)) }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) exceeds autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled (the /metrics endpoint it scrapes)" }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.worker.httpPort)) }}
{{- fail (printf "metrics.port (%d) is worker.httpPort: the Prometheus exporter needs a port of its own" (int .Values.metrics.port)) }}
{{- end }}
{{- if .Values.networkPolicy.enabled }}
{{- range $name := list "kafka" "archive" "fhir" }}
{{- if not (index $.Values.networkPolicy.egress $name) }}
{{- fail (printf "networkPolicy.enabled needs networkPolicy.egress.%s (where the worker may connect: cidrs and ports): without it the worker cannot work" $name) }}
{{- end }}
{{- end }}
{{- if and .Values.telemetry.otlpEndpoint (not .Values.networkPolicy.egress.otlp) }}
{{- fail "telemetry.otlpEndpoint is set: networkPolicy.egress.otlp must let the worker reach the collector" }}
{{- end }}
{{- end }}
{{- $secretFileNames := dict }}
{{- range .Values.secretFiles }}
{{- if hasKey $secretFileNames .name }}
{{- fail (printf "secretFiles: the name %s appears twice" .name) }}
{{- end }}
{{- $_ := set $secretFileNames .name true }}
{{- $paths := list }}
{{- range .items }}{{ $paths = append $paths .path }}{{ end }}
{{- $entry := . }}
{{- range $variable, $file := .env }}
{{- if and $paths (not (has $file $paths)) }}
{{- fail (printf "secretFiles[%s].env.%s names %s, which is none of its items' paths (%s)" $entry.name $variable $file (join ", " $paths)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The image: the CUDA variant (<appVersion>-cuda) on GPU nodes unless image.tag says otherwise. */}}
{{- define "covid-ct-triage.image" -}}
{{- $default := ternary (printf "%s-cuda" .Chart.AppVersion) .Chart.AppVersion .Values.gpu.enabled }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default $default) }}
{{- end }}

{{/* Resources, with the GPU limit on GPU nodes. */}}
{{- define "covid-ct-triage.resources" -}}
{{- $resources := deepCopy .Values.resources }}
{{- if .Values.gpu.enabled }}
{{- $limits := $resources.limits | default dict }}
{{- $_ := set $limits .Values.gpu.resourceName (int .Values.gpu.count) }}
{{- $_ := set $resources "limits" $limits }}
{{- end }}
{{- toYaml $resources }}
{{- end }}

{{/* Where secretFiles are mounted. */}}
{{- define "covid-ct-triage.secretFilesDir" -}}/etc/covid-ct-triage/secrets{{- end }}

{{/* One NetworkPolicy peer list and port list from a destination ({cidrs, except, namespaceSelector, podSelector, ports}). */}}
{{- define "covid-ct-triage.networkPolicyRule" -}}
{{- $to := list }}
{{- range .cidrs }}
{{- $block := dict "cidr" . }}
{{- with $.except }}{{ $_ := set $block "except" . }}{{ end }}
{{- $to = append $to (dict "ipBlock" $block) }}
{{- end }}
{{- if or .namespaceSelector .podSelector }}
{{- $peer := dict }}
{{- with .namespaceSelector }}{{ $_ := set $peer "namespaceSelector" . }}{{ end }}
{{- with .podSelector }}{{ $_ := set $peer "podSelector" . }}{{ end }}
{{- $to = append $to $peer }}
{{- end }}
{{- $rule := dict }}
{{- with $to }}{{ $_ := set $rule "to" . }}{{ end }}
{{- with .ports }}{{ $_ := set $rule "ports" . }}{{ end }}
{{- toYaml (list $rule) }}
{{- end }}

{{/* Where the Kafka Secrets are mounted (files: the worker reads them once at start-up). */}}
{{- define "covid-ct-triage.kafkaTlsDir" -}}/etc/covid-ct-triage/kafka/tls{{- end }}
{{- define "covid-ct-triage.kafkaSaslDir" -}}/etc/covid-ct-triage/kafka/sasl{{- end }}

{{/* Secrets (by reference only) and extra variables: the container's env list. */}}
{{- define "covid-ct-triage.env" -}}
{{- if eq .Values.kafka.securityProtocol "SASL_SSL" }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.secretKeys.username }}
{{- end }}
{{- if eq .Values.dicomweb.auth "basic" }}
- name: DICOMWEB_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.dicomweb.existingSecret }}
      key: {{ .Values.dicomweb.secretKeys.username }}
- name: DICOMWEB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.dicomweb.existingSecret }}
      key: {{ .Values.dicomweb.secretKeys.password }}
{{- else if eq .Values.dicomweb.auth "bearer" }}
- name: DICOMWEB_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.dicomweb.existingSecret }}
      key: {{ .Values.dicomweb.secretKeys.token }}
{{- end }}
{{- if .Values.fhir.existingSecret }}
- name: FHIR_BEARER_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.fhir.existingSecret }}
      key: {{ .Values.fhir.secretKeys.bearerToken }}
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
{{- with .Values.worker.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.worker.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}
