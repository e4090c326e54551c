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
{{- range $server := list "dicomweb" "fhir" }}
{{- include "covid-ct-triage.validateHttpAuth" (dict "root" $ "server" $server) }}
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

{{/* Secrets (by reference only) and extra variables: the container's env list. The HTTP servers'
credentials are files (covid-ct-triage.httpAuthVolumes), their variables in the ConfigMap. */}}
{{- define "covid-ct-triage.env" -}}
{{- if eq .Values.kafka.securityProtocol "SASL_SSL" }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.secretKeys.username }}
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

{{/*
The credentials of an HTTP server (dicomweb, fhir): the worker's <PREFIX>_AUTH family of
settings (libs/config/src/http-auth.ts). The secret part of each kind is one key of
<server>.existingSecret, mounted read-only as a file in the server's own folder; the worker
reads it again whenever kubelet swaps the mounted Secret, so a rotation needs no restart.
*/}}
{{- define "covid-ct-triage.httpAuthDir" -}}/etc/covid-ct-triage/{{ . }}{{- end }}

{{/* For an auth kind: the secretKeys entry it needs, the file it is mounted as, the worker's variable suffix. */}}
{{- define "covid-ct-triage.httpAuthSecretPart" -}}
{{- $parts := dict
  "basic" (dict "key" "password" "file" "password" "setting" "PASSWORD_FILE")
  "bearer" (dict "key" "token" "file" "token" "setting" "TOKEN_FILE")
  "client-credentials" (dict "key" "clientSecret" "file" "client-secret" "setting" "CLIENT_SECRET_FILE")
  "private-key-jwt" (dict "key" "privateKey" "file" "private-key.pem" "setting" "PRIVATE_KEY_FILE") }}
{{- with (get $parts .) }}{{ toYaml . }}{{ end }}
{{- end }}

{{/* The ConfigMap entries of one server ({root, server}): its kind, non-secret settings and the secret file's path. */}}
{{- define "covid-ct-triage.httpAuthConfig" -}}
{{- $v := index .root.Values .server }}
{{- $prefix := upper .server }}
{{ $prefix }}_AUTH: {{ $v.auth | quote }}
{{- if eq $v.auth "basic" }}
{{ $prefix }}_USERNAME: {{ $v.username | quote }}
{{- end }}
{{- if has $v.auth (list "client-credentials" "private-key-jwt") }}
{{ $prefix }}_TOKEN_URL: {{ $v.oauth.tokenUrl | quote }}
{{ $prefix }}_CLIENT_ID: {{ $v.oauth.clientId | quote }}
{{- with $v.oauth.scope }}
{{ $prefix }}_SCOPE: {{ . | quote }}
{{- end }}
{{- end }}
{{- if eq $v.auth "client-credentials" }}
{{- with $v.oauth.clientAuthMethod }}
{{ $prefix }}_CLIENT_AUTH_METHOD: {{ . | quote }}
{{- end }}
{{- end }}
{{- if eq $v.auth "private-key-jwt" }}
{{- with $v.oauth.keyId }}
{{ $prefix }}_KEY_ID: {{ . | quote }}
{{- end }}
{{- end }}
{{- with include "covid-ct-triage.httpAuthSecretPart" $v.auth | fromYaml }}
{{ $prefix }}_{{ .setting }}: "{{ include "covid-ct-triage.httpAuthDir" $.server }}/{{ .file }}"
{{- end }}
{{- end }}

{{/* The volume mounts of the servers' credentials (no subPath: kubelet must be able to swap the files). */}}
{{- define "covid-ct-triage.httpAuthVolumeMounts" -}}
{{- range $server := list "dicomweb" "fhir" }}
{{- if ne (index $.Values $server).auth "none" }}
- name: {{ $server }}-auth
  mountPath: {{ include "covid-ct-triage.httpAuthDir" $server }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/* The servers' credential volumes: only the key the kind needs, read-only, group-readable (fsGroup). */}}
{{- define "covid-ct-triage.httpAuthVolumes" -}}
{{- range $server := list "dicomweb" "fhir" }}
{{- $v := index $.Values $server }}
{{- with include "covid-ct-triage.httpAuthSecretPart" $v.auth | fromYaml }}
- name: {{ $server }}-auth
  secret:
    secretName: {{ $v.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ index $v.secretKeys .key }}
        path: {{ .file }}
{{- end }}
{{- end }}
{{- end }}

{{/* Refuses ({root, server}) what the worker would refuse at start-up, naming the value. */}}
{{- define "covid-ct-triage.validateHttpAuth" -}}
{{- $s := .server }}
{{- $v := index .root.Values $s }}
{{- $kind := $v.auth }}
{{- $oauthKinds := list "client-credentials" "private-key-jwt" }}
{{- if hasKey $v.secretKeys "bearerToken" }}
{{- fail (printf "%s.secretKeys.bearerToken is the old shape (FHIR_BEARER_TOKEN, which the worker refuses): set %s.auth=bearer and %s.secretKeys.token, the key of %s.existingSecret holding the token (mounted as %s_TOKEN_FILE)" $s $s $s $s (upper $s)) }}
{{- end }}
{{- if hasKey $v.secretKeys "username" }}
{{- fail (printf "%s.secretKeys.username is the old shape: the basic-auth user name is now the value %s.username (the Secret holds only the password)" $s $s) }}
{{- end }}
{{- $part := include "covid-ct-triage.httpAuthSecretPart" $kind | fromYaml }}
{{- if and $part (not $v.existingSecret) }}
{{- fail (printf "%s.auth=%s needs %s.existingSecret (a Secret whose key %s.secretKeys.%s holds the credential; never put credentials in values)" $s $kind $s $s $part.key) }}
{{- end }}
{{- if and (eq $kind "none") $v.existingSecret }}
{{- fail (printf "%s.existingSecret is set but %s.auth=none would not use it: set %s.auth (bearer for a static token, as the old FHIR_BEARER_TOKEN was)" $s $s $s) }}
{{- end }}
{{- if and (eq $kind "basic") (not $v.username) }}
{{- fail (printf "%s.auth=basic needs %s.username" $s $s) }}
{{- end }}
{{- if and $v.username (ne $kind "basic") }}
{{- fail (printf "%s.username is set but %s.auth=%s would not use it" $s $s $kind) }}
{{- end }}
{{- range $field := list "tokenUrl" "clientId" }}
{{- if and (has $kind $oauthKinds) (not (index $v.oauth $field)) }}
{{- fail (printf "%s.auth=%s needs %s.oauth.%s" $s $kind $s $field) }}
{{- end }}
{{- end }}
{{- range $field := list "tokenUrl" "clientId" "scope" }}
{{- if and (index $v.oauth $field) (not (has $kind $oauthKinds)) }}
{{- fail (printf "%s.oauth.%s is set but %s.auth=%s would not use it" $s $field $s $kind) }}
{{- end }}
{{- end }}
{{- if and $v.oauth.clientAuthMethod (ne $kind "client-credentials") }}
{{- fail (printf "%s.oauth.clientAuthMethod is set but %s.auth=%s would not use it (client-credentials only)" $s $s $kind) }}
{{- end }}
{{- if and $v.oauth.keyId (ne $kind "private-key-jwt") }}
{{- fail (printf "%s.oauth.keyId is set but %s.auth=%s would not use it (private-key-jwt only)" $s $s $kind) }}
{{- end }}
{{- if and (ne $kind "none") (not .root.Values.allowInsecureHttp) }}
{{- range $field, $url := dict "baseUrl" $v.baseUrl "oauth.tokenUrl" $v.oauth.tokenUrl }}
{{- if hasPrefix "http:" (lower $url) }}
{{- fail (printf "%s.%s is http://, so %s.auth=%s would send credentials in the clear: use https, or set allowInsecureHttp=true on a test bench" $s $field $s $kind) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .root.Values.networkPolicy.enabled (has $kind $oauthKinds) (not .root.Values.networkPolicy.egress.tokenEndpoint) }}
{{- fail (printf "%s.auth=%s: networkPolicy.egress.tokenEndpoint must let the worker reach %s.oauth.tokenUrl" $s $kind $s) }}
{{- end }}
{{- end }}
