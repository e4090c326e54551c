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
{{- with .Values.worker.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.worker.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}
