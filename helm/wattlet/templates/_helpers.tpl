{{/* Chart name, truncated to a DNS label. */}}
{{- define "wattlet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already holds the chart name. */}}
{{- define "wattlet.fullname" -}}
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

{{- define "wattlet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wattlet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wattlet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "wattlet.labels" -}}
helm.sh/chart: {{ include "wattlet.chart" . }}
{{ include "wattlet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wattlet
{{- end }}

{{- define "wattlet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wattlet.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wattlet.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString .Values.image.tag) }}
{{- end }}

{{/* Where the simulated meter's tree is, inside both containers. */}}
{{- define "wattlet.raplsimDir" -}}
/var/run/wattlet-raplsim
{{- end }}

{{/*
The agent's configuration: what the chart must set for the mounts below, overridden
by .Values.config (docs/config.md).
*/}}
{{- define "wattlet.config" -}}
{{- $meter := dict "sysfs_root" "/host/sys" }}
{{- if .Values.simulatedRapl.enabled }}
{{- $_ := set $meter "powercap_root" (include "wattlet.raplsimDir" .) }}
{{- end }}
{{- $base := dict
  "listen" (printf "0.0.0.0:%d" (int .Values.metricsPort))
  "meter" $meter
  "cgroup" (dict "root" "/host/cgroup" "containers_only" true)
  "kubernetes" (dict "enabled" "true" "write_budget_per_s" .Values.writeBudget.clusterPerSecond "write_ceiling_per_node_per_s" .Values.writeBudget.perNodeCeilingPerSecond)
  "usage" (dict "proc_root" "/host/proc")
  "ledger" (dict "checkpoint" "/var/lib/wattlet/ledger.ckpt")
  "metrics" (dict "detail" (.Values.metricsDetail | default false))
}}
{{- if .Values.secureMetrics.enabled }}
{{- $_ := set $base "http" (dict
  "tls_cert_file" (printf "%s/tls.crt" (include "wattlet.tlsDir" .))
  "tls_key_file" (printf "%s/tls.key" (include "wattlet.tlsDir" .))
  "auth" "kubernetes"
  "auth_cache_ttl" .Values.secureMetrics.cacheTTL) }}
{{- end }}
{{- if .Values.gpu.hostLibrary.enabled }}
{{- $_ := set $base "gpu" (dict "library" (include "wattlet.nvmlPath" .)) }}
{{- end }}
{{- if .Values.redfish.enabled }}
{{- if not .Values.redfish.endpoint }}{{ fail "redfish.enabled needs redfish.endpoint (https://HOST[:PORT], {node} for the node's name)" }}{{ end }}
{{- if not .Values.redfish.credentialsSecret }}{{ fail "redfish.enabled needs redfish.credentialsSecret (a Secret with key credentials: user:password or a token)" }}{{ end }}
{{- if and .Values.redfish.caSecret .Values.redfish.insecureSkipVerify }}{{ fail "redfish.caSecret and redfish.insecureSkipVerify contradict each other" }}{{ end }}
{{- $rf := dict "endpoint" .Values.redfish.endpoint "chassis" .Values.redfish.chassis
  "credentials_file" (printf "%s/credentials" (include "wattlet.redfishDir" .))
  "insecure_skip_verify" .Values.redfish.insecureSkipVerify
  "interval" .Values.redfish.interval "stale_after" .Values.redfish.staleAfter }}
{{- if .Values.redfish.caSecret }}
{{- $_ := set $rf "ca_file" (printf "%s-ca/ca.crt" (include "wattlet.redfishDir" .)) }}
{{- end }}
{{- $_ := set $base "redfish" $rf }}
{{- end }}
{{- $cfg := mustMergeOverwrite $base (deepCopy .Values.config) }}
{{- toYaml $cfg }}
{{- end }}

{{/* raplsim needs nothing: it reads /proc/stat and writes its emptyDir. */}}
{{- define "wattlet.raplsimSecurityContext" -}}
privileged: false
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
runAsUser: 0
runAsNonRoot: false
readOnlyRootFilesystem: true
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Secure metrics: the serving certificate's Secret and where the agent reads it. */}}
{{- define "wattlet.tlsSecretName" -}}
{{- .Values.secureMetrics.tls.secretName | default (printf "%s-tls" (include "wattlet.fullname" .)) }}
{{- end }}

{{/* GPU: where the host's NVML library is mounted (gpu.hostLibrary). */}}
{{- define "wattlet.nvmlPath" -}}
/host/nvidia/libnvidia-ml.so.1
{{- end }}

{{/* Redfish: where the BMC credentials (and CA) Secrets are mounted. */}}
{{- define "wattlet.redfishDir" -}}
/var/run/wattlet/redfish
{{- end }}

{{- define "wattlet.tlsDir" -}}
/var/run/wattlet/tls
{{- end }}

{{/* The DNS name scrapers verify the agent's certificate against. */}}
{{- define "wattlet.tlsServerName" -}}
{{ include "wattlet.fullname" . }}.{{ .Release.Namespace }}.svc
{{- end }}
