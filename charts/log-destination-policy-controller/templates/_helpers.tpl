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

{{/* The Secret that serves /metrics, when metrics are secure and one is named. */}}
{{- define "ldpc.metricsCertSecret" -}}
{{- if .Values.metrics.secure }}{{ .Values.metrics.certSecret }}{{ end }}
{{- end }}

{{/* Where the metrics certificate Secret is mounted (controller-runtime's folder). */}}
{{- define "ldpc.metricsCertDir" -}}
/tmp/k8s-metrics-server/metrics-certs
{{- end }}

{{/* The DNS name of the metrics Service, which a verified scrape checks the certificate against. */}}
{{- define "ldpc.metricsServerName" -}}
{{ include "ldpc.fullname" . }}-metrics.{{ .Release.Namespace }}.svc
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
- apiGroups: ["logs.gitops.dev"]
  resources: ["logdestinationgrants"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["logs.gitops.dev"]
  resources: ["logdestinationgrants/status"]
  verbs: ["patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
With tenancy.requireBinding, the controller lists and watches the
cluster-scoped bindings (and writes whether it enforces each in its status).
*/}}
{{- define "ldpc.tenancyRules" -}}
- apiGroups: ["logs.gitops.dev"]
  resources: ["logdestinationpolicybindings"]
  verbs: ["list", "watch"]
- apiGroups: ["logs.gitops.dev"]
  resources: ["logdestinationpolicybindings/status"]
  verbs: ["patch"]
{{- end }}

{{/*
Always: the controller lists and watches namespaces for their labels, which a
policy's spec.grants.from selects (and binding selectors, with
tenancy.requireBinding). Labels only; it never reads anything else of them.
*/}}
{{- define "ldpc.namespaceRules" -}}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}

{{/*
With metrics.secure, the controller reviews each scrape's token with the API
server (TokenReview) and asks whether its user may get /metrics
(SubjectAccessReview). Both are cluster-scoped creates that change nothing.
*/}}
{{- define "ldpc.metricsAuthRules" -}}
- apiGroups: ["authentication.k8s.io"]
  resources: ["tokenreviews"]
  verbs: ["create"]
- apiGroups: ["authorization.k8s.io"]
  resources: ["subjectaccessreviews"]
  verbs: ["create"]
{{- end }}

{{/*
A memory quantity in MiB, rounded down; empty for a form this does not read
(such as millibytes), which skips the check against it.
*/}}
{{- define "ldpc.quantityMiB" -}}
{{- $q := toString . }}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 }}
{{- if regexMatch "^[0-9]+$" $q }}
{{- div (int64 $q) 1048576 }}
{{- else if regexMatch "^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)$" $q }}
{{- $unit := regexFind "(Ki|Mi|Gi|Ti|k|M|G|T)$" $q }}
{{- div (mul (int64 (trimSuffix $unit $q)) (get $units $unit)) 1048576 }}
{{- end }}
{{- end }}

{{/*
NODE_OPTIONS carrying the heap sizes, unless they are off or extraEnv sets
NODE_OPTIONS itself (a second entry of the same name would make server-side
apply refuse the Deployment). scripts/chart.ts builds the same string for the
benchmark.
*/}}
{{- define "ldpc.nodeOptions" -}}
{{- $own := true }}
{{- range .Values.extraEnv }}
{{- if eq .name "NODE_OPTIONS" }}{{ $own = false }}{{ end }}
{{- end }}
{{- $old := int64 .Values.heap.maxOldSpaceMiB }}
{{- $semi := int64 .Values.heap.maxSemiSpaceMiB }}
{{- if $own }}
{{- $options := list }}
{{- if gt $old 0 }}
{{- $limit := include "ldpc.quantityMiB" (dig "limits" "memory" "" (.Values.resources | default dict)) }}
{{- if and $limit (ge $old (int64 $limit)) }}
{{- fail (printf "heap.maxOldSpaceMiB (%d) must be below resources.limits.memory (%s, %s MiB): the heap is only part of the process's memory" $old .Values.resources.limits.memory $limit) }}
{{- end }}
{{- $options = append $options (printf "--max-old-space-size=%d" $old) }}
{{- end }}
{{- if gt $semi 0 }}
{{- $options = append $options (printf "--max-semi-space-size=%d" $semi) }}
{{- end }}
{{- join " " $options }}
{{- end }}
{{- end }}

{{/*
"true" when the admission policy is rendered: enabled, and the cluster is
Kubernetes 1.30+, where ValidatingAdmissionPolicy v1 is served. The version is
the cluster's on install and upgrade, and --kube-version for helm template
(offline, helm lists API groups but not their kinds, so the version decides).
Older clusters get the rest of the chart; the controller's UnsafePolicy check
still applies there.
*/}}
{{- define "ldpc.admissionPolicy" -}}
{{- if and .Values.admissionPolicy.enabled (semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version) }}true{{ end }}
{{- end }}
