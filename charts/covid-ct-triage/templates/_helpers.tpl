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
{{- fail (printf "kafka.securityProtocol=SASL_SSL needs kafka.sasl.existingSecret (a Secret with %s; never put them in values)" (ternary "the OAuth client secret or private key" "the username and password" (eq .Values.kafka.sasl.mechanism "oauthbearer"))) }}
{{- end }}
{{- include "covid-ct-triage.validateKafkaOAuth" . }}
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
{{- if .Values.intake.enabled }}
{{- include "covid-ct-triage.validateIntake" . }}
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

{{/*
The credentials of an HTTP server: the archive's DICOMweb (dicomweb) and the FHIR server (fhir) for
the worker, the archive's DICOMweb and Orthanc's REST API (orthanc, values intake.orthanc) for the
intake. Each is the <PREFIX>_AUTH family of settings (libs/config/src/http-auth.ts). The secret part
of each kind is one key of the server's existingSecret, mounted read-only as a file in the server's
own folder; the services read it again whenever kubelet swaps the mounted Secret, so a rotation
needs no restart.
*/}}
{{- define "covid-ct-triage.httpAuthDir" -}}/etc/covid-ct-triage/{{ . }}{{- end }}

{{/* One server ({root, server}) as {path (of its values, for messages), prefix, urlField, url, v (its values)}. */}}
{{- define "covid-ct-triage.httpServer" -}}
{{- if eq .server "orthanc" }}
{{- $v := .root.Values.intake.orthanc }}
{{- toYaml (dict "path" "intake.orthanc" "prefix" "INTAKE_ORTHANC" "urlField" "url" "url" $v.url "v" $v) }}
{{- else }}
{{- $v := index .root.Values .server }}
{{- toYaml (dict "path" .server "prefix" (upper .server) "urlField" "baseUrl" "url" $v.baseUrl "v" $v) }}
{{- end }}
{{- end }}

{{/* For an auth kind: the secretKeys entry it needs, the file it is mounted as, the variable suffix. */}}
{{- define "covid-ct-triage.httpAuthSecretPart" -}}
{{- $parts := dict
  "basic" (dict "key" "password" "file" "password" "setting" "PASSWORD_FILE")
  "bearer" (dict "key" "token" "file" "token" "setting" "TOKEN_FILE")
  "client-credentials" (dict "key" "clientSecret" "file" "client-secret" "setting" "CLIENT_SECRET_FILE")
  "private-key-jwt" (dict "key" "privateKey" "file" "private-key.pem" "setting" "PRIVATE_KEY_FILE") }}
{{- with (get $parts .) }}{{ toYaml . }}{{ end }}
{{- end }}

{{/*
The secret part a server's values ($v) actually use: the kind's required one (above), or for google
(a service-account key, secretKeys.googleKey) and azure (a client secret, secretKeys.clientSecret)
the optional one when existingSecret is set (without it: Application Default Credentials, a managed
identity). aws-sigv4 has none (the SDK's default credential chain).
*/}}
{{- define "covid-ct-triage.httpAuthSecretOf" -}}
{{- $part := include "covid-ct-triage.httpAuthSecretPart" .auth | fromYaml }}
{{- if and (not $part) .existingSecret }}
{{- if eq .auth "google" }}
{{- $part = dict "key" "googleKey" "file" "google-key.json" "setting" "GOOGLE_KEY_FILE" }}
{{- else if eq .auth "azure" }}
{{- $part = dict "key" "clientSecret" "file" "client-secret" "setting" "CLIENT_SECRET_FILE" }}
{{- end }}
{{- end }}
{{- with $part }}{{ toYaml . }}{{ end }}
{{- end }}

{{/*
The non-secret settings of an OAuth2 client ({prefix, kind, oauth}), shared by the HTTP servers
(<P>_TOKEN_URL …) and Kafka's OAUTHBEARER (KAFKA_SASL_OAUTH_TOKEN_URL …): the token endpoint, the
client, the scope, and the method (client-credentials) or key id (private-key-jwt) when set.
*/}}
{{- define "covid-ct-triage.oauthClientConfig" -}}
{{- $o := .oauth }}
{{ .prefix }}_TOKEN_URL: {{ $o.tokenUrl | quote }}
{{ .prefix }}_CLIENT_ID: {{ $o.clientId | quote }}
{{- with $o.scope }}
{{ $.prefix }}_SCOPE: {{ . | quote }}
{{- end }}
{{- if and (eq .kind "client-credentials") $o.clientAuthMethod }}
{{ .prefix }}_CLIENT_AUTH_METHOD: {{ $o.clientAuthMethod | quote }}
{{- end }}
{{- if and (eq .kind "private-key-jwt") $o.keyId }}
{{ .prefix }}_KEY_ID: {{ $o.keyId | quote }}
{{- end }}
{{- end }}

{{/* The ConfigMap entries of one server ({root, server}): its kind, non-secret settings and the secret file's path. */}}
{{- define "covid-ct-triage.httpAuthConfig" -}}
{{- $s := include "covid-ct-triage.httpServer" . | fromYaml }}
{{- $v := $s.v }}
{{- $prefix := $s.prefix }}
{{ $prefix }}_AUTH: {{ $v.auth | quote }}
{{- if eq $v.auth "basic" }}
{{ $prefix }}_USERNAME: {{ $v.username | quote }}
{{- end }}
{{- if has $v.auth (list "client-credentials" "private-key-jwt") }}
{{- include "covid-ct-triage.oauthClientConfig" (dict "prefix" $prefix "kind" $v.auth "oauth" $v.oauth) }}
{{- end }}
{{- if eq $v.auth "google" }}
{{- with dig "google" "scope" "" $v }}
{{ $prefix }}_SCOPE: {{ . | quote }}
{{- end }}
{{- else if eq $v.auth "azure" }}
{{- with dig "azure" "clientId" "" $v }}
{{ $prefix }}_CLIENT_ID: {{ . | quote }}
{{- end }}
{{- with dig "azure" "scope" "" $v }}
{{ $prefix }}_SCOPE: {{ . | quote }}
{{- end }}
{{- if $v.existingSecret }}
{{ $prefix }}_AZURE_TENANT_ID: {{ dig "azure" "tenantId" "" $v | quote }}
{{- with dig "azure" "authorityHost" "" $v }}
{{ $prefix }}_AZURE_AUTHORITY_HOST: {{ . | quote }}
{{- end }}
{{- end }}
{{- else if eq $v.auth "aws-sigv4" }}
{{ $prefix }}_AWS_REGION: {{ dig "aws" "region" "" $v | quote }}
{{- with dig "aws" "service" "" $v }}
{{ $prefix }}_AWS_SERVICE: {{ . | quote }}
{{- end }}
{{- end }}
{{- with include "covid-ct-triage.httpAuthSecretOf" $v | fromYaml }}
{{ $prefix }}_{{ .setting }}: "{{ include "covid-ct-triage.httpAuthDir" $.server }}/{{ .file }}"
{{- end }}
{{- end }}

{{/* The volume mounts of the servers' credentials ({root, servers}; no subPath: kubelet must be able to swap the files). */}}
{{- define "covid-ct-triage.httpAuthVolumeMounts" -}}
{{- range $server := .servers }}
{{- $s := include "covid-ct-triage.httpServer" (dict "root" $.root "server" $server) | fromYaml }}
{{- if include "covid-ct-triage.httpAuthSecretOf" $s.v }}
- name: {{ $server }}-auth
  mountPath: {{ include "covid-ct-triage.httpAuthDir" $server }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/* The servers' credential volumes ({root, servers}): only the key the kind needs, read-only, group-readable (fsGroup). */}}
{{- define "covid-ct-triage.httpAuthVolumes" -}}
{{- range $server := .servers }}
{{- $v := (include "covid-ct-triage.httpServer" (dict "root" $.root "server" $server) | fromYaml).v }}
{{- with include "covid-ct-triage.httpAuthSecretOf" $v | fromYaml }}
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

{{/* Refuses ({root, server}) what the service would refuse at start-up, naming the value. */}}
{{- define "covid-ct-triage.validateHttpAuth" -}}
{{- $server := include "covid-ct-triage.httpServer" . | fromYaml }}
{{- $s := $server.path }}
{{- $v := $server.v }}
{{- $kind := $v.auth }}
{{- $oauthKinds := list "client-credentials" "private-key-jwt" }}
{{- if hasKey $v.secretKeys "bearerToken" }}
{{- fail (printf "%s.secretKeys.bearerToken is the old shape (FHIR_BEARER_TOKEN, which the worker refuses): set %s.auth=bearer and %s.secretKeys.token, the key of %s.existingSecret holding the token (mounted as %s_TOKEN_FILE)" $s $s $s $s $server.prefix) }}
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
{{- if and (eq $kind "aws-sigv4") $v.existingSecret }}
{{- fail (printf "%s.existingSecret is set but %s.auth=aws-sigv4 would not use it: SigV4 takes its credentials from the AWS SDK's default chain (IRSA or EKS Pod Identity on serviceAccount.annotations), never from a Secret" $s $s) }}
{{- end }}
{{- /* The cloud kinds' own blocks: only with their kind, and what each needs. */}}
{{- range $block, $blockKind := dict "google" "google" "azure" "azure" "aws" "aws-sigv4" }}
{{- range $field, $value := (index $v $block | default dict) }}
{{- if and $value (ne $kind $blockKind) }}
{{- fail (printf "%s.%s.%s is set but %s.auth=%s would not use it (%s only)" $s $block $field $s $kind $blockKind) }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $kind "azure" }}
{{- if $v.existingSecret }}
{{- range $field := list "tenantId" "clientId" }}
{{- if not (dig "azure" $field "" $v) }}
{{- fail (printf "%s.auth=azure with %s.existingSecret (a client secret) needs %s.azure.%s (without a Secret: a managed identity)" $s $s $s $field) }}
{{- end }}
{{- end }}
{{- else }}
{{- range $field := list "tenantId" "authorityHost" }}
{{- if dig "azure" $field "" $v }}
{{- fail (printf "%s.azure.%s is only used with a client secret (%s.existingSecret); %s.auth=azure without one is a managed identity" $s $field $s $s) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $kind "aws-sigv4") (not (dig "aws" "region" "" $v)) }}
{{- fail (printf "%s.auth=aws-sigv4 needs %s.aws.region" $s $s) }}
{{- end }}
{{- if and .root.Values.networkPolicy.enabled (has $kind (list "google" "azure")) (not .root.Values.networkPolicy.egress.tokenEndpoint) }}
{{- fail (printf "%s.auth=%s: networkPolicy.egress.tokenEndpoint must let the %s reach the platform's token endpoint (or the node's metadata server for Workload Identity / a managed identity)" $s $kind (ternary "intake" "worker" (eq .server "orthanc"))) }}
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
{{- range $field, $url := dict $server.urlField $server.url "oauth.tokenUrl" $v.oauth.tokenUrl }}
{{- if hasPrefix "http:" (lower $url) }}
{{- fail (printf "%s.%s is http://, so %s.auth=%s would send credentials in the clear: use https, or set allowInsecureHttp=true on a test bench" $s $field $s $kind) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .root.Values.networkPolicy.enabled (has $kind $oauthKinds) (not .root.Values.networkPolicy.egress.tokenEndpoint) }}
{{- fail (printf "%s.auth=%s: networkPolicy.egress.tokenEndpoint must let the %s reach %s.oauth.tokenUrl" $s $kind (ternary "intake" "worker" (eq .server "orthanc")) $s) }}
{{- end }}
{{- end }}

{{/*
Kafka's OAUTHBEARER (kafka.sasl.mechanism=oauthbearer): refuses what the worker and the intake
would refuse at start-up (libs/config/src/kafka-security.ts), naming the value, and what KEDA's
Kafka scaler cannot do.
*/}}
{{- define "covid-ct-triage.validateKafkaOAuth" -}}
{{- $sasl := .Values.kafka.sasl }}
{{- $o := $sasl.oauth }}
{{- $keys := $sasl.secretKeys }}
{{- $protocol := .Values.kafka.securityProtocol }}
{{- $oauthbearer := and (eq $protocol "SASL_SSL") (eq $sasl.mechanism "oauthbearer") }}
{{- if and (eq $sasl.mechanism "oauthbearer") (ne $protocol "SASL_SSL") }}
{{- fail (printf "kafka.sasl.mechanism=oauthbearer needs kafka.securityProtocol=SASL_SSL (it is %s): SASL runs only over TLS here" $protocol) }}
{{- end }}
{{- if not $oauthbearer }}
{{- range $field := list "tokenUrl" "clientId" "scope" "clientAuthMethod" "keyId" }}
{{- if index $o $field }}
{{- fail (printf "kafka.sasl.oauth.%s is set but kafka.sasl.mechanism=%s would not use it (oauthbearer only)" $field $sasl.mechanism) }}
{{- end }}
{{- end }}
{{- range $field := list "clientSecret" "privateKey" }}
{{- if index $keys $field }}
{{- fail (printf "kafka.sasl.secretKeys.%s is set but kafka.sasl.mechanism=%s would not use it (oauthbearer only)" $field $sasl.mechanism) }}
{{- end }}
{{- end }}
{{- else }}
{{- range $field := list "username" "password" }}
{{- if index $keys $field }}
{{- fail (printf "kafka.sasl.secretKeys.%s is SCRAM's (KAFKA_SASL_%s), which the worker refuses with kafka.sasl.mechanism=oauthbearer: the client is kafka.sasl.oauth.clientId, its credential secretKeys.clientSecret or secretKeys.privateKey" $field (ternary "USERNAME" "PASSWORD_FILE" (eq $field "username"))) }}
{{- end }}
{{- end }}
{{- range $field := list "tokenUrl" "clientId" }}
{{- if not (index $o $field) }}
{{- fail (printf "kafka.sasl.mechanism=oauthbearer needs kafka.sasl.oauth.%s" $field) }}
{{- end }}
{{- end }}
{{- if eq (empty $keys.clientSecret) (empty $keys.privateKey) }}
{{- fail "kafka.sasl.mechanism=oauthbearer needs exactly one of kafka.sasl.secretKeys.clientSecret (the key of kafka.sasl.existingSecret holding the client secret) and kafka.sasl.secretKeys.privateKey (the one holding the PEM private key, private_key_jwt)" }}
{{- end }}
{{- if and $o.keyId (not $keys.privateKey) }}
{{- fail "kafka.sasl.oauth.keyId is set but only a private key (kafka.sasl.secretKeys.privateKey) has a key id, not a client secret" }}
{{- end }}
{{- if and $o.clientAuthMethod (not $keys.clientSecret) }}
{{- fail "kafka.sasl.oauth.clientAuthMethod is set but only a client secret (kafka.sasl.secretKeys.clientSecret) is sent with a method, not a private key" }}
{{- end }}
{{- if and (hasPrefix "http:" (lower $o.tokenUrl)) (not .Values.allowInsecureHttp) }}
{{- fail "kafka.sasl.oauth.tokenUrl is http://, so the Kafka client's credentials would cross the network in the clear: use https, or set allowInsecureHttp=true on a test bench" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.egress.tokenEndpoint) }}
{{- fail "kafka.sasl.mechanism=oauthbearer: networkPolicy.egress.tokenEndpoint must let the worker reach kafka.sasl.oauth.tokenUrl" }}
{{- end }}
{{- if and .Values.keda.enabled $keys.privateKey }}
{{- fail "keda.enabled with kafka.sasl.secretKeys.privateKey: KEDA 2.21's Kafka scaler obtains OAUTHBEARER tokens with a client secret only (client id and secret as username and password); it cannot sign a private_key_jwt assertion. Use a client secret (kafka.sasl.secretKeys.clientSecret), or autoscaling.enabled (CPU) instead" }}
{{- end }}
{{- if and .Values.keda.enabled (contains "," $o.scope) }}
{{- fail "kafka.sasl.oauth.scope contains a comma: KEDA's Kafka scaler splits its scopes at commas, so it would ask for other scopes than the worker" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The intake (intake.enabled): refuses what its configuration parser (libs/config/src/intake-config.ts) would. */}}
{{- define "covid-ct-triage.validateIntake" -}}
{{- $intake := .Values.intake }}
{{- if eq $intake.source "orthanc" }}
{{- if not $intake.orthanc.url }}
{{- fail "intake.source=orthanc needs intake.orthanc.url (Orthanc's REST root, INTAKE_ORTHANC_URL)" }}
{{- end }}
{{- include "covid-ct-triage.validateHttpAuth" (dict "root" . "server" "orthanc") }}
{{- else }}
{{- if or $intake.orthanc.url (ne $intake.orthanc.auth "none") $intake.orthanc.existingSecret }}
{{- fail (printf "intake.orthanc is set but intake.source=%s would not use it (orthanc only)" $intake.source) }}
{{- end }}
{{- end }}
{{- /* The cloud sources (libs/config/src/intake-cloud-sources.ts): what each needs, and no other source's settings. */}}
{{- $source := $intake.source }}
{{- $pushed := has $source (list "google-pubsub-push" "azure-event-grid") }}
{{- $uses := dict
  "google.dicomStore" (list "google-pubsub" "google-pubsub-push")
  "google.subscription" (list "google-pubsub")
  "azure.dicomHost" (list "azure-event-grid")
  "azure.partition" (list "azure-event-grid")
  "aws.region" (list "aws-healthimaging-sqs")
  "aws.datastoreId" (list "aws-healthimaging-sqs")
  "aws.queueUrl" (list "aws-healthimaging-sqs")
  "aws.sqsEndpoint" (list "aws-healthimaging-sqs")
  "aws.medicalImagingEndpoint" (list "aws-healthimaging-sqs")
  "push.existingSecret" (list "google-pubsub-push" "azure-event-grid") }}
{{- $needs := dict
  "google-pubsub" (list "google.dicomStore" "google.subscription")
  "google-pubsub-push" (list "google.dicomStore" "push.existingSecret")
  "azure-event-grid" (list "push.existingSecret")
  "aws-healthimaging-sqs" (list "aws.region" "aws.datastoreId" "aws.queueUrl") }}
{{- range $path, $sources := $uses }}
{{- $parts := splitList "." $path }}
{{- $value := index $intake (first $parts) (last $parts) }}
{{- if and $value (not (has $source $sources)) }}
{{- fail (printf "intake.%s is set but intake.source=%s would not use it (%s only)" $path $source (join ", " $sources)) }}
{{- end }}
{{- if and (not $value) (has $path (get $needs $source | default list)) }}
{{- fail (printf "intake.source=%s needs intake.%s%s" $source $path (ternary " (a Secret whose key intake.push.secretKeys.token holds the push endpoint's shared token, 16+ characters; mounted as INTAKE_PUSH_TOKEN_FILE)" "" (eq $path "push.existingSecret"))) }}
{{- end }}
{{- end }}
{{- if $pushed }}
{{- if eq (int $intake.push.port) (int $intake.httpPort) }}
{{- fail (printf "intake.push.port (%d) is intake.httpPort: the push endpoint needs a port of its own" (int $intake.push.port)) }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int $intake.push.port) (int .Values.metrics.port)) }}
{{- fail (printf "metrics.port (%d) is intake.push.port: the Prometheus exporter needs a port of its own" (int .Values.metrics.port)) }}
{{- end }}
{{- end }}
{{- if lt (int64 $intake.maxWaitMs) (int64 $intake.quietPeriodMs) }}
{{- fail (printf "intake.maxWaitMs (%d) must be at least intake.quietPeriodMs (%d)" (int64 $intake.maxWaitMs) (int64 $intake.quietPeriodMs)) }}
{{- end }}
{{- if le (int64 $intake.abandonAfterMs) (int64 $intake.maxWaitMs) }}
{{- fail (printf "intake.abandonAfterMs (%d) must exceed intake.maxWaitMs (%d)" (int64 $intake.abandonAfterMs) (int64 $intake.maxWaitMs)) }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int $intake.httpPort) (int .Values.metrics.port)) }}
{{- fail (printf "metrics.port (%d) is intake.httpPort: the Prometheus exporter needs a port of its own" (int .Values.metrics.port)) }}
{{- end }}
{{- end }}
