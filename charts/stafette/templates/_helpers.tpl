{{/* The chart name, or nameOverride. */}}
{{- define "stafette.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-stafette (or just <release> when it already contains the chart name). */}}
{{- define "stafette.fullname" -}}
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

{{/* Labels on every object. */}}
{{- define "stafette.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "stafette.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stafette
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component (operator or mta): pass (list . "mta"). */}}
{{- define "stafette.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "stafette.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The image reference. */}}
{{- define "stafette.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "stafette.operatorName" -}}
{{ include "stafette.fullname" . }}-operator
{{- end }}

{{- define "stafette.operatorServiceAccount" -}}
{{ .Values.operator.serviceAccount.name | default (include "stafette.operatorName" .) }}
{{- end }}

{{- define "stafette.mtaName" -}}
{{ include "stafette.fullname" . }}-mta
{{- end }}

{{/* The Lease the operator replicas elect a leader with (fixed in the operator). */}}
{{- define "stafette.leaseName" -}}
stafette-operator
{{- end }}

{{/* The operator's --default-delivery: lmtp://host:port from defaultDelivery.lmtp, else none. */}}
{{- define "stafette.defaultDelivery" -}}
{{- with .Values.defaultDelivery.lmtp.host -}}
lmtp://{{ if contains ":" . }}[{{ . }}]{{ else }}{{ . }}{{ end }}:{{ $.Values.defaultDelivery.lmtp.port }}
{{- else -}}
none
{{- end }}
{{- end }}

{{/*
Topology spread of one component's pods (pass (list . "mta")): over nodes and, where nodes
carry topology.kubernetes.io/zone, over zones. ScheduleAnyway, so a single node (or zone)
still schedules them; pod-template-hash counts only the current ReplicaSet's pods, so a
rolling update is spread like the steady state.
*/}}
{{- define "stafette.topologySpread" -}}
{{- $root := index . 0 -}}
{{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
- maxSkew: 1
  topologyKey: {{ $key }}
  whenUnsatisfiable: ScheduleAnyway
  matchLabelKeys: [pod-template-hash]
  labelSelector:
    matchLabels:
      {{- include "stafette.selectorLabels" (list $root (index $ 1)) | nindent 6 }}
{{- end }}
{{- end }}

{{/* The SMTP listeners the MTA knows; mta.listeners may name only these. */}}
{{- define "stafette.listenerNames" -}}
mx submission submissions
{{- end }}

{{/* The Secret with the MTA pods' queue seal keys (docs/trust-model.md §2.2): the admin's, or the one this chart generates. */}}
{{- define "stafette.queueSealSecret" -}}
{{- .Values.mta.queueSeal.existingSecret | default (printf "%s-queue-seal" (include "stafette.mtaName" .)) -}}
{{- end }}

{{/*
The delivery-target allow-lists as flags, the same for the operator and the MTA
(values deliveryTargets.*; docs/trust-model.md). The MTA also allows defaultDelivery's LMTP host,
which the operator allows by itself.
*/}}
{{- define "stafette.deliveryTargetArgs" -}}
{{- range .Values.deliveryTargets.lmtpHosts }}
- --allow-lmtp-host={{ . }}
{{- end }}
{{- with .Values.deliveryTargets.maildirRoot }}
- --maildir-root={{ . }}
{{- end }}
{{- range .Values.deliveryTargets.webhookAllowNetworks }}
- --webhook-allow-network={{ . }}
{{- end }}
{{- end }}

{{/* The Secret with the NATS role passwords: the admin's, or the one this chart generates. */}}
{{- define "stafette.natsUsersSecret" -}}
{{- .Values.nats.roleUsers.existingSecret | default (printf "%s-nats-users" (include "stafette.fullname" .)) -}}
{{- end -}}

{{/*
The MTA's V8 heap flags (mta.maxHeapMiB, mta.maxSemiSpaceMiB) as one NODE_OPTIONS value; empty when
both are 0. bench/e2e-stafette.ts runs the benchmark MTA with the same flags from values.yaml.
*/}}
{{- define "stafette.mtaNodeOptions" -}}
{{- $flags := list }}
{{- with .Values.mta.maxHeapMiB }}{{ $flags = append $flags (printf "--max-old-space-size=%d" (int .)) }}{{ end }}
{{- with .Values.mta.maxSemiSpaceMiB }}{{ $flags = append $flags (printf "--max-semi-space-size=%d" (int .)) }}{{ end }}
{{- join " " $flags -}}
{{- end -}}
