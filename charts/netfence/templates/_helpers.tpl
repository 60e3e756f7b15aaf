{{/* The chart name, or nameOverride. */}}
{{- define "netfence.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: fullnameOverride, or the release name plus the chart name. */}}
{{- define "netfence.fullname" -}}
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

{{- define "netfence.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "netfence.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netfence.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "netfence.labels" -}}
helm.sh/chart: {{ include "netfence.chart" . }}
{{ include "netfence.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "netfence.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "netfence.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "netfence.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the config and the certificate are mounted in the container. */}}
{{- define "netfence.configDir" -}}/etc/netfence/config{{- end }}
{{- define "netfence.tlsDir" -}}/etc/netfence/tls{{- end }}

{{/*
The Secret with tls.crt and tls.key that the pods mount. One name per mode: Helm owns the Secret of
mode helm and cert-manager the one of mode cert-manager, so switching modes never has one fight the
other over the same object.
*/}}
{{- define "netfence.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" }}
{{- required "tls.existingSecret.name is required when tls.mode is secret" .Values.tls.existingSecret.name }}
{{- else if eq .Values.tls.mode "cert-manager" }}
{{- printf "%s-serving-cert" (include "netfence.fullname" .) }}
{{- else }}
{{- printf "%s-tls" (include "netfence.fullname" .) }}
{{- end }}
{{- end }}

{{/* The DNS names the API server may use for the webhook Service (it uses <service>.<namespace>.svc). */}}
{{- define "netfence.dnsNames" -}}
{{- $service := include "netfence.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- list $service (printf "%s.%s" $service $ns) (printf "%s.%s.svc" $service $ns) (printf "%s.%s.svc.%s" $service $ns .Values.clusterDomain) | toJson }}
{{- end }}

{{/*
The namespaces netfence never sees: its own (so that a broken netfence can always be repaired: its
Service, Secret and ConfigMap are never checked by itself), kube-system (the cluster's own networking
and DNS must never wait on netfence), and any extra ones. Webhook configurations, Pods and Deployments
are never intercepted at all.
*/}}
{{- define "netfence.excludedNamespaces" -}}
{{- concat (list .Release.Namespace "kube-system") .Values.webhook.excludedNamespaces | uniq | toJson }}
{{- end }}

{{/* The namespaceSelector of every webhook except the kube-proxy ConfigMap one. */}}
{{- define "netfence.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ include "netfence.excludedNamespaces" . }}
  # The opt-out: `kubectl label namespace NAME netfence.io/ignore=true` (NotIn also matches
  # namespaces without the label).
  - key: netfence.io/ignore
    operator: NotIn
    values: ["true"]
{{- end }}

{{/* Fields every webhook shares. */}}
{{- define "netfence.webhookCommon" -}}
admissionReviewVersions: ["v1"]
sideEffects: None
matchPolicy: Equivalent
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
{{- end }}

{{/* clientConfig of a webhook; the caBundle is written by cert-manager's cainjector in that mode. */}}
{{- define "netfence.clientConfig" -}}
{{- $root := .root -}}
service:
  name: {{ include "netfence.fullname" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ .path }}
  port: {{ $root.Values.service.port }}
{{- if ne $root.Values.tls.mode "cert-manager" }}
caBundle: {{ include "netfence.caBundle" $root }}
{{- end }}
{{- end }}

{{/* The base64 PEM CA bundle of the webhooks (modes helm and secret). */}}
{{- define "netfence.caBundle" -}}
{{- if eq .Values.tls.mode "secret" }}
{{- required "tls.existingSecret.caBundle (base64 PEM) is required when tls.mode is secret" .Values.tls.existingSecret.caBundle }}
{{- else }}
{{- include "netfence.generatedTLS" . }}
{{- .netfenceGeneratedTLS.caBundle }}
{{- end }}
{{- end }}

{{/*
Mode helm: the CA and serving certificate, generated once per render and cached on the root context
(templates of one chart share it), so the Secret and both webhook configurations agree.
An existing Secret of this release is read back with `lookup` and kept as long as it is for the same
Service and more than renewBeforeDays from expiry; the expiry is recorded in an annotation because
templates cannot parse certificates. When a new CA is issued, the caBundle carries the old CA too:
the kubelet takes up to a minute to update the mounted Secret, and netfence then needs
reloadIntervalSeconds to pick it up; meanwhile the API server must trust the old certificate.
*/}}
{{- define "netfence.generatedTLS" -}}
{{- if not (hasKey . "netfenceGeneratedTLS") }}
{{- $secretName := include "netfence.tlsSecretName" . }}
{{- $dnsNames := include "netfence.dnsNames" . | fromJsonArray }}
{{- $service := index $dnsNames 2 }}
{{- $days := int .Values.tls.helm.validityDays }}
{{- $renewBefore := int .Values.tls.helm.renewBeforeDays }}
{{- $now := now | unixEpoch | int64 }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName }}
{{- $data := dict }}
{{- $annotations := dict }}
{{- if $existing }}
{{- $data = $existing.data | default dict }}
{{- $annotations = $existing.metadata.annotations | default dict }}
{{- end }}
{{- $notAfter := index $annotations "netfence.io/not-after" | default "0" | int64 }}
{{- $keep := and (index $data "tls.crt") (index $data "tls.key") (index $data "ca.crt") (eq (index $annotations "netfence.io/service" | default "") $service) (lt $now (sub $notAfter (mul $renewBefore 86400))) }}
{{- $tls := dict }}
{{- if $keep }}
{{- $tls = dict "crt" (index $data "tls.crt") "key" (index $data "tls.key") "ca" (index $data "ca.crt") "caBundle" (index $data "ca.crt") "notAfter" (toString $notAfter) }}
{{- else }}
{{- $ca := genCA (printf "%s-ca" (include "netfence.fullname" .)) $days }}
{{- $cert := genSignedCert $service nil $dnsNames $days $ca }}
{{- $bundle := $ca.Cert }}
{{- with index $data "ca.crt" }}
{{- $bundle = printf "%s\n%s" (trimSuffix "\n" $ca.Cert) (b64dec .) }}
{{- end }}
{{- $tls = dict "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) "ca" ($ca.Cert | b64enc) "caBundle" ($bundle | b64enc) "notAfter" (toString (add $now (mul $days 86400))) }}
{{- end }}
{{- $_ := set . "netfenceGeneratedTLS" $tls }}
{{- end }}
{{- end }}

{{/* The config file netfence reads; ConfigSchema in src/config.ts validates it at start. */}}
{{- define "netfence.config" -}}
{{- $c := .Values.config -}}
listen:
  host: {{ .Values.server.listenHost | quote }}
  port: {{ .Values.server.port }}
tls:
  certFile: {{ include "netfence.tlsDir" . }}/tls.crt
  keyFile: {{ include "netfence.tlsDir" . }}/tls.key
  reloadIntervalSeconds: {{ .Values.tls.reloadIntervalSeconds }}
logLevel: {{ $c.logLevel }}
bodyLimitBytes: {{ int64 $c.bodyLimitBytes }}
allowedIngressNamespaces: {{ $c.allowedIngressNamespaces | toJson }}
isolatedNamespaces: {{ $c.isolatedNamespaces | toJson }}
podCIDRs: {{ $c.podCIDRs | toJson }}
services:
  emptySelector: {{ $c.services.emptySelector }}
rules: {{ $c.rules | toJson }}
reconcile: {{ .Values.reconciler.enabled }}
impact:
  enabled: {{ .Values.impact.enabled }}
  deadlineMs: {{ .Values.impact.deadlineMs }}
resyncSeconds: {{ .Values.reconciler.resyncSeconds }}
cacheStaleAfterSeconds: {{ $c.cacheStaleAfterSeconds }}
shutdownGraceSeconds: {{ $c.shutdownGraceSeconds }}
{{- end }}
