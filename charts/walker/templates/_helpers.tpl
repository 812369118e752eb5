{{/* Names and labels, as `helm create` makes them. */}}
{{- define "walker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "walker.fullname" -}}
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

{{- define "walker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The standard labels of one of the chart's components: app (the walker pods
and what serves them), database (the bundled PostgreSQL and the database
Secret), monitoring (the metrics Secret, ServiceMonitor, PrometheusRule,
dashboard) or test, followed by the extra labels given (a map from values).
Usage: include "walker.labels" (dict "ctx" . "component" "app" ["extra" MAP])
*/}}
{{- define "walker.labels" -}}
helm.sh/chart: {{ include "walker.chart" .ctx }}
{{ include "walker.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ .ctx.Chart.Name }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
What selects a component's pods: never change these (a Deployment's or
StatefulSet's selector cannot change on upgrade), and the scrape job keeps
the Service with component=app.
Usage: include "walker.selectorLabels" (dict "ctx" . "component" "app")
*/}}
{{- define "walker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "walker.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "walker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "walker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "walker.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Secrets: the chart's own, or the one the user points to. */}}
{{- define "walker.metricsSecretName" -}}
{{- default (printf "%s-metrics" (include "walker.fullname" .)) .Values.metrics.auth.existingSecret }}
{{- end }}

{{- define "walker.appSecretName" -}}
{{- default (printf "%s-app" (include "walker.fullname" .)) .Values.app.existingSecret }}
{{- end }}

{{- define "walker.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "walker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "walker.databaseSecretName" -}}
{{- $existing := ternary .Values.postgresql.existingSecret .Values.externalDatabase.existingSecret .Values.postgresql.enabled }}
{{- default (printf "%s-database" (include "walker.fullname" .)) $existing }}
{{- end }}

{{- define "walker.databaseUsernameKey" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret }}{{ .Values.externalDatabase.existingSecretUsernameKey }}{{ else }}username{{ end }}
{{- end }}

{{- define "walker.databasePasswordKey" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret }}{{ .Values.externalDatabase.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- end }}

{{/*
A secret value that survives upgrades: the value given, else the one already
in the cluster's Secret, else a new random one.
Usage: include "walker.secretValue" (dict "ctx" . "secret" NAME "key" KEY "value" GIVEN)
*/}}
{{- define "walker.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if .value }}
{{- .value }}
{{- else if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}

{{/*
An htpasswd {SSHA} hash: base64 of SHA-1(password + salt) followed by the
salt, which nginx's auth_basic reads. Templates have SHA-1 only in hex;
urlParse decodes "%xx" escapes to the raw bytes that base64 needs.
Usage: include "walker.ssha" (dict "password" P "salt" S)
*/}}
{{- define "walker.ssha" -}}
{{- $hex := printf "%s%x" (sha1sum (print .password .salt)) .salt -}}
{{- $raw := get (urlParse (printf "http://x/%s" (regexReplaceAll "(..)" $hex "%${1}"))) "path" | trimPrefix "/" -}}
{SSHA}{{ $raw | b64enc }}
{{- end }}

{{/* An environment variable read from a Secret. Usage: include "walker.secretEnv" (dict "name" VAR "secret" SECRET "key" KEY) */}}
{{- define "walker.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/* The app's environment, shared by the migrate init container and the app. */}}
{{- define "walker.env" -}}
- name: DB_HOST
  value: {{ ternary (include "walker.postgresql.fullname" .) .Values.externalDatabase.host .Values.postgresql.enabled | quote }}
- name: DB_PORT
  value: {{ ternary "5432" (toString .Values.externalDatabase.port) .Values.postgresql.enabled | quote }}
- name: DB_NAME
  value: {{ ternary .Values.postgresql.database .Values.externalDatabase.database .Values.postgresql.enabled | quote }}
- name: DB_SSLMODE
  value: {{ ternary "disable" .Values.externalDatabase.sslmode .Values.postgresql.enabled | quote }}
{{ include "walker.secretEnv" (dict "name" "DB_USER" "secret" (include "walker.databaseSecretName" .) "key" (include "walker.databaseUsernameKey" .)) }}
{{ include "walker.secretEnv" (dict "name" "DB_PASSWORD" "secret" (include "walker.databaseSecretName" .) "key" (include "walker.databasePasswordKey" .)) }}
- name: WALKER_DB_TIMEOUT
  value: {{ .Values.app.dbTimeout | quote }}
- name: WALKER_LOG_LEVEL
  value: {{ .Values.app.logLevel | quote }}
{{- end }}

{{/*
User and group ids from values: runAsUser, runAsGroup and fsGroup as far as
the map given has them; a null (or absent) one is left out, for the platform
to assign (OpenShift picks them from the namespace's range).
Usage: include "walker.ids" .Values.postgresql
*/}}
{{- define "walker.ids" -}}
{{- range $key := list "runAsUser" "runAsGroup" "fsGroup" }}
{{- $id := index $ $key }}
{{- if not (kindIs "invalid" $id) }}
{{ $key }}: {{ $id }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod Security "restricted"; ids as walker.ids. Usage: include "walker.podSecurityContext" .Values.postgresql */}}
{{- define "walker.podSecurityContext" -}}
runAsNonRoot: true
{{- include "walker.ids" . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod Security "restricted"; ids as walker.ids. Usage: include "walker.containerSecurityContext" .Values.app */}}
{{- define "walker.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
{{- include "walker.ids" . }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
