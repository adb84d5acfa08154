{{- define "skmall.labels" -}}
app.kubernetes.io/part-of: skmall
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "skmall.secret" -}}
{{ .Values.secrets.existingSecret | default (printf "%s-credentials" .Release.Name) }}
{{- end }}

{{- define "skmall.image" -}}
{{ .root.Values.image.repository }}/{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end }}
