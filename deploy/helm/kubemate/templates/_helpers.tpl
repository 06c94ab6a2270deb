{{- define "kubemate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kubemate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kubemate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubemate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubemate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kubemate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "kubemate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubemate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kubemate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- if not (regexMatch "^sha256:[0-9a-f]{64}$" .Values.image.digest) -}}
{{- fail "image.digest must be sha256:<64 hex digits>" -}}
{{- end -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- if eq $tag "latest" -}}{{- fail "image.tag: pin a version (and a digest), not latest" -}}{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The policy ConfigMap's name, or "" when no policy is given. */}}
{{- define "kubemate.policyConfigMap" -}}
{{- if .Values.existingPolicyConfigMap -}}
{{- .Values.existingPolicyConfigMap -}}
{{- else if .Values.policy -}}
{{- printf "%s-policy" (include "kubemate.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* A configuration key (bots.slack.botTokenFile) as its environment variable (KUBEMATE_BOTS__SLACK__BOT_TOKEN_FILE). */}}
{{- define "kubemate.envName" -}}
{{- $parts := list -}}
{{- range splitList "." . -}}{{- $parts = append $parts (snakecase . | upper) -}}{{- end -}}
{{- printf "KUBEMATE_%s" (join "__" $parts) -}}
{{- end -}}

{{/* Users and groups Kubemate may impersonate: the values' lists plus an inline policy's impersonation map. */}}
{{- define "kubemate.impersonation" -}}
{{- $users := .Values.rbac.impersonate.users | default list -}}
{{- $groups := .Values.rbac.impersonate.groups | default list -}}
{{- $imp := (.Values.policy | default dict).impersonation | default dict -}}
{{- if $imp.enabled -}}
{{- range $_, $id := ($imp.users | default dict) -}}
{{- if $id.user -}}{{- $users = append $users $id.user -}}{{- end -}}
{{- range ($id.groups | default list) -}}{{- $groups = append $groups . -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- dict "users" ($users | uniq | sortAlpha) "groups" ($groups | uniq | sortAlpha) | toJson -}}
{{- end -}}

{{/* Each string single-quoted for a YAML flow list, comma-separated. */}}
{{- define "kubemate.quoteEach" -}}
{{- $out := list -}}
{{- range . -}}{{- $out = append $out (printf "'%s'" .) -}}{{- end -}}
{{- join "," $out -}}
{{- end -}}
