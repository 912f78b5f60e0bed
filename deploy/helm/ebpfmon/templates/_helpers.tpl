{{/* The chart name, or nameOverride. */}}
{{- define "ebpfmon.name" -}}
{{- include "ebpfmon.trimName" (list (default .Chart.Name .Values.nameOverride) 63) }}
{{- end }}

{{/* trimName (list NAME N): NAME cut to N characters, without the "-" or "." it may then
end with (a DNS label ends with a letter or digit). */}}
{{- define "ebpfmon.trimName" -}}
{{- regexReplaceAll "[-.]+$" (trunc (index . 1) (toString (index . 0))) "" }}
{{- end }}

{{/* Object names: fullnameOverride, else the release name (when it contains the chart
name), else release-chart. At most 52 characters, so "-configs" still fits in 63. */}}
{{- define "ebpfmon.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- include "ebpfmon.trimName" (list .Values.fullnameOverride 52) }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- include "ebpfmon.trimName" (list .Release.Name 52) }}
{{- else }}
{{- include "ebpfmon.trimName" (list (printf "%s-%s" .Release.Name $name) 52) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ebpfmon.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name and instance only (a selector cannot change later). */}}
{{- define "ebpfmon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebpfmon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The standard labels, on every object. */}}
{{- define "ebpfmon.labels" -}}
{{ include "ebpfmon.selectorLabels" . }}
app.kubernetes.io/version: {{ include "ebpfmon.tag" . | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: exporter
helm.sh/chart: {{ include "ebpfmon.chart" . }}
{{- end }}

{{- define "ebpfmon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ebpfmon.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image tag: image.tag, else the chart's appVersion; never latest. */}}
{{- define "ebpfmon.tag" -}}
{{- $tag := toString (default .Chart.AppVersion .Values.image.tag) }}
{{- if eq $tag "latest" }}
{{- fail "image.tag: \"latest\" is not allowed (it implies pulling on every start); give a fixed version such as the one `make image` tags" }}
{{- end }}
{{- $tag }}
{{- end }}

{{/* The image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "ebpfmon.image" -}}
{{- if not .Values.image.repository }}
{{- fail "image.repository: empty; give the image's name, such as ebpfmon (what `make image` tags) or your registry's copy of it" }}
{{- end }}
{{- if .Values.image.digest }}
{{- if not (regexMatch "^[a-z0-9]+([+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$" (toString .Values.image.digest)) }}
{{- fail (printf "image.digest: %q is not a digest (want sha256:<64 hex digits>, or leave it empty to use image.tag)" (toString .Values.image.digest)) }}
{{- end }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "ebpfmon.tag" .) }}
{{- end }}
{{- end }}

{{/* The configs' ConfigMap, mounted at /etc/ebpfmon/configs. */}}
{{- define "ebpfmon.configsName" -}}
{{- printf "%s-configs" (include "ebpfmon.fullname" .) }}
{{- end }}

{{/* Why ebpfmon needs a capability: the comment beside it in the pod spec (README's
capability table, measured). */}}
{{- define "ebpfmon.capabilityReason" -}}
{{- $why := dict
  "BPF" "the bpf() syscall: load programs, create and read maps"
  "PERFMON" "tracing programs (tracepoint, raw_tp, tp_btf, perf_event, kprobe, uprobe): load and attach"
  "SYSLOG" "real addresses in /proc/kallsyms: ksym and kstack decoders, kaddrs (timers example)"
  "NET_ADMIN" "xdp/ programs; cgroup_skb/ programs on the cgroup2 root (podnet in config.names adds it)"
  "SYS_ADMIN" "uprobe/ and usdt/ on Linux 6.16+; mounting tracefs; kernels before 5.8"
  "SYS_RESOURCE" "kernels before 5.11: RLIMIT_MEMLOCK for maps"
  "DAC_READ_SEARCH" "tracefs (mode 0700, owned by root) for a non-root uid; root, the owner, does not need it"
}}
{{- get $why (upper (trimPrefix "CAP_" (upper .))) | default "added by securityContext.capabilities.add" }}
{{- end }}

{{/* extraArgs, checked: a flag the chart gives already cannot be repeated (ebpfmon would
exit at start, "flag ... cannot be repeated", and the pod crash-loop); each names the value
to set instead. */}}
{{- define "ebpfmon.extraArgs" -}}
{{- $owned := dict
  "config.dir" "the chart runs the bundled examples from /examples (config.names) and config.custom from /etc/ebpfmon/configs; for configs in a directory of your own, give --config.extra-dir=DIR with extraVolumes and extraVolumeMounts"
  "config.names" "set config.names"
  "config.names-file" "set config.names"
  "web.listen-address" "set service.port"
  "log.format" "the chart logs JSON"
  "kube.services" "set kube.services"
  "no-kube.services" "set kube.services"
}}
{{- range .Values.extraArgs }}
{{- $arg := toString . }}
{{- range $flag, $instead := $owned }}
{{- if or (eq $arg (printf "--%s" $flag)) (hasPrefix (printf "--%s=" $flag) $arg) }}
{{- fail (printf "extraArgs: %q: the chart gives --%s itself (ebpfmon would refuse it twice and the pod crash-loop): %s" $arg $flag $instead) }}
{{- end }}
{{- end }}
- {{ $arg | quote }}
{{- end }}
{{- end }}

{{/* The capabilities to add, as a YAML list: securityContext.capabilities.add, plus
NET_ADMIN when config.names runs an example that needs it (podnet: cgroup_skb programs
attached to the cgroup2 root). Adding such an example changes the pod template, so the pods
roll once: a running container's capabilities cannot change. */}}
{{- define "ebpfmon.capabilitiesAdd" -}}
{{- $add := list }}
{{- with .Values.securityContext.capabilities }}
{{- $add = .add | default list }}
{{- end }}
{{- $have := list }}
{{- range $add }}
{{- $have = append $have (upper (trimPrefix "CAP_" (upper (toString .)))) }}
{{- end }}
{{- $names := without (.Values.config.names | default list) "" }}
{{- if and (has "podnet" $names) (not (has "NET_ADMIN" $have)) }}
{{- $add = append $add "NET_ADMIN" }}
{{- end }}
{{- toYaml $add }}
{{- end }}
