{{/* Chart name, shortened to fit a label value. */}}
{{- define "ldpc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "ldpc.fullname" -}}
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

{{/* Labels that select the controller pods. */}}
{{- define "ldpc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ldpc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "ldpc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ldpc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: log-destination-policy-controller
{{- end }}

{{- define "ldpc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ldpc.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, and @digest after it when a digest is set (the runtime then ignores the tag). */}}
{{- define "ldpc.image" -}}
{{- $image := printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- if .Values.image.digest }}
{{- $image = printf "%s@%s" $image .Values.image.digest }}
{{- end }}
{{- $image }}
{{- end }}

{{/* "true" when leader election is on: explicitly, or by default with more than one replica. */}}
{{- define "ldpc.leaderElection" -}}
{{- if kindIs "bool" .Values.leaderElection.enabled }}
{{- if .Values.leaderElection.enabled }}true{{ end }}
{{- else if gt (int .Values.replicaCount) 1 }}true
{{- end }}
{{- end }}

{{- define "ldpc.leaderElectionNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{- define "ldpc.leaderElectionId" -}}
{{- default (include "ldpc.fullname" .) .Values.leaderElection.id }}
{{- end }}

{{/* The metrics Service exists on request, and always for a ServiceMonitor. */}}
{{- define "ldpc.metricsService" -}}
{{- if or .Values.metrics.service.enabled .Values.serviceMonitor.enabled }}true{{ end }}
{{- end }}

{{/*
The rules the controller needs on LogDestinationPolicy objects and their events,
cluster-wide (ClusterRole) or in each watched namespace (Role). Each verb is one
the controller calls; see the chart README.
*/}}
{{- define "ldpc.policyRules" -}}
- apiGroups: ["logs.gitops.dev"]
  resources: ["logdestinationpolicies"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["logs.gitops.dev"]
  resources: ["logdestinationpolicies/status"]
  verbs: ["patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
