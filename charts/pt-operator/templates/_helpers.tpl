{{/* Chart name, overridable with nameOverride. */}}
{{- define "pt-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name when it already contains the chart name, else "<release>-<chart>". */}}
{{- define "pt-operator.fullname" -}}
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

{{- define "pt-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the operator's pods; they must never change between upgrades. */}}
{{- define "pt-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pt-operator.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "pt-operator.labels" -}}
helm.sh/chart: {{ include "pt-operator.chart" . }}
{{ include "pt-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "pt-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pt-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
A name made of the full name and a suffix ("-metrics"), the full name cut so that the whole fits a 63-character
name (and a DNS-1035 label, as a Service's name must be). Call with (list . "-metrics").
*/}}
{{- define "pt-operator.suffixedName" -}}
{{- $context := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $fullname := include "pt-operator.fullname" $context -}}
{{- printf "%s%s" ($fullname | trunc (int (sub 63 (len $suffix))) | trimSuffix "-") $suffix -}}
{{- end -}}

{{/*
The leader-election Lease's name, one per release ("pt-operator-leader" for the release "pt-operator"). Earlier
versions named it "pt-operator-leader" for every release: while one of this release's Pods holds that Lease, the
release keeps it, so that a rolling update does not have an old replica and a new one lead on two Leases at once.
A Pod's name is "<fullname>-<hash>-" and 5 random characters, that base cut to 58 characters (the API server's
generateName): with a full name of 47 characters or more it is 63 characters long and no longer ends "-<hash>-<5>".
*/}}
{{- define "pt-operator.leaseName" -}}
{{- $fullname := include "pt-operator.fullname" . -}}
{{- $legacy := lookup "coordination.k8s.io/v1" "Lease" .Release.Namespace "pt-operator-leader" -}}
{{- $holder := dig "spec" "holderIdentity" "" ($legacy | default dict) -}}
{{- $base := printf "%s-" $fullname | trunc 58 -}}
{{- $cut := and (eq (len $holder) 63) (hasPrefix $base $holder) (regexMatch "^[a-z0-9]*-?[a-z0-9]{5}$" (trimPrefix $base $holder)) -}}
{{- if or $cut (regexMatch (printf "^%s-[a-z0-9]+-[a-z0-9]{5}$" (regexQuoteMeta $fullname)) $holder) -}}
pt-operator-leader
{{- else -}}
{{- include "pt-operator.suffixedName" (list . "-leader") -}}
{{- end -}}
{{- end -}}

{{/*
The Leases the operator may lead on, as a JSON list: the release's, and one an extraArgs
--leader-election-id=<name> names instead (the last flag wins; docs/upgrade.md keeps pt-operator-leader that way).
*/}}
{{- define "pt-operator.leaseNames" -}}
{{- $names := list (include "pt-operator.leaseName" .) -}}
{{- range $arg := .Values.extraArgs | default list -}}
{{- if hasPrefix "--leader-election-id=" (toString $arg) -}}
{{- $names = append $names (trimPrefix "--leader-election-id=" (toString $arg)) -}}
{{- end -}}
{{- end -}}
{{- $names | uniq | toJson -}}
{{- end -}}

{{/* The metrics Service's name; the generated certificate and the ServiceMonitor's serverName use it too. */}}
{{- define "pt-operator.metricsServiceName" -}}
{{- include "pt-operator.suffixedName" (list . "-metrics") -}}
{{- end -}}

{{/* Values the schema cannot relate to each other; each would render an operator that misbehaves at run time. */}}
{{- define "pt-operator.validateValues" -}}
{{- if and .Values.caBundle.configMap.name .Values.caBundle.secret.name -}}
{{- fail (printf "caBundle: set configMap.name (%s) or secret.name (%s), not both: the operator trusts one bundle file" .Values.caBundle.configMap.name .Values.caBundle.secret.name) -}}
{{- end -}}
{{- if and (not .Values.leaderElection.enabled) (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "leaderElection.enabled=false needs replicaCount=1 (it is %d): without leader election every replica reconciles, so each change is applied once per replica" (int .Values.replicaCount)) -}}
{{- end -}}
{{- $strategy := .Values.updateStrategy | default dict -}}
{{- if and (not .Values.leaderElection.enabled) $strategy (ne (toString (get $strategy "type")) "Recreate") -}}
{{- /* Kubernetes' default surge is 25 %, one Pod of one replica. */ -}}
{{- $surge := toString (dig "rollingUpdate" "maxSurge" "25%" $strategy) -}}
{{- if not (has $surge (list "0" "0%")) -}}
{{- fail (printf "leaderElection.enabled=false with an updateStrategy that surges (maxSurge %s): a rolling update would start the new operator beside the old one, and both would reconcile. Leave updateStrategy empty (the chart then uses Recreate), or set updateStrategy.rollingUpdate.maxSurge=0" $surge) -}}
{{- end -}}
{{- end -}}
{{- if not .Values.defaultWorkspace.host -}}
{{- range $value := list "existingSecret" "allowedNamespaces" "allowedNamespaceSelector" -}}
{{- if get $.Values.defaultWorkspace $value -}}
{{- fail (printf "defaultWorkspace.%s is set but defaultWorkspace.host is empty: without a host there is no default workspace, and endpoints without spec.workspaceRef wait for one. Set defaultWorkspace.host to the workspace URL, or leave the default workspace's values empty" $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled=true needs metrics.service.enabled=true: the ServiceMonitor scrapes the operator through the metrics Service" -}}
{{- end -}}
{{- if eq (int .Values.metrics.port) (int .Values.healthProbe.port) -}}
{{- fail (printf "metrics.port and healthProbe.port must differ (both are %d): the operator serves them on two listeners" (int .Values.metrics.port)) -}}
{{- end -}}
{{- $pdb := .Values.podDisruptionBudget -}}
{{- if and $pdb.enabled (gt (int .Values.replicaCount) 1) -}}
{{- $min := toString $pdb.minAvailable -}}
{{- $replicas := int .Values.replicaCount -}}
{{- /* Kubernetes rounds a percentage up: p % of r replicas leaves none to evict when ceil(p*r/100) >= r, i.e. p*r > 100*(r-1). */ -}}
{{- $none := ternary (gt (mul (atoi (trimSuffix "%" $min)) $replicas) (mul 100 (sub $replicas 1))) (ge (atoi $min) $replicas) (hasSuffix "%" $min) -}}
{{- if $none -}}
{{- fail (printf "podDisruptionBudget.minAvailable=%s with replicaCount=%d allows no voluntary disruption: kubectl drain of a node running the operator would wait forever. Set it below replicaCount (the default 1 keeps a standby while the leader moves), or podDisruptionBudget.enabled=false" $min (int .Values.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- /* A JSON schema cannot say "a regular expression". regexMatch is false for an invalid one, and "(?:P)|" matches
  the empty string whenever P is valid. Go's syntax: a lookaround or backreference, valid for the operator, is refused.
  Go syntax the operator (JavaScript) refuses is refused too: an inline flag group "(?i)", Go's U flag (ungreedy, also
  in a group "(?U:...)"; JavaScript's groups take i, m and s only) and a "(?P<name>" group; so is Go syntax JavaScript
  reads as something else without a word: the escapes \z \A \a \Q \p \P and \x{...} (an unescaped backslash, one of an
  odd run) and a "[:alpha:]" class inside brackets. */ -}}
{{- range $pattern := splitList "," (.Values.capacityPatterns | default "") -}}
{{- if regexMatch "\\{[0-9]*$|^[0-9]*\\}" (trim $pattern) -}}
{{- fail (printf "capacityPatterns: %q is cut by a comma (patterns are separated by commas): write a comma inside a pattern as \\x2c, as in x{1\\x2c3}" (trim $pattern)) -}}
{{- end -}}
{{- if not (regexMatch (printf "(?:%s)|" (trim $pattern)) "") -}}
{{- fail (printf "capacityPatterns: %q is not a regular expression (comma-separated patterns, each read with the i flag)" (trim $pattern)) -}}
{{- end -}}
{{- if regexMatch "(^|[^\\\\])\\(\\?([a-zA-Z-]*\\)|[a-zA-Z-]*U[a-zA-Z-]*:|P)" (trim $pattern) -}}
{{- fail (printf "capacityPatterns: %q uses Go-only syntax the operator cannot read (an inline flag group like (?i), the U flag, or (?P<name>); patterns are read with the i flag already, (?s:...) and (?m:...) work, and (?<name>...) names a group)" (trim $pattern)) -}}
{{- end -}}
{{- if regexMatch "(^|[^\\\\])(\\\\\\\\)*(\\\\([pPzAQa]|x\\{)|\\[[^\\]]*\\[:\\^?[a-z]+:\\])" (trim $pattern) -}}
{{- fail (printf "capacityPatterns: %q uses Go syntax the operator reads otherwise: JavaScript reads \\z, \\A, \\a, \\Q...\\E and \\p as plain letters, \\x{41} as 41 x's and [:alpha:] as its characters. Write $ for \\z, ^ for \\A, escape each character instead of \\Q...\\E, and use classes such as [a-z] or \\d" (trim $pattern)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Another release of this chart whose scope overlaps this one's: two operators would act on the same objects. Each
Deployment records its scope in annotations (watchNamespaces, labelSelector); with a labelSelector on both sides the
releases are shards and the selectors decide (a release without one reconciles every object of its namespaces, a
shard's too). Read with lookup, so `helm template` (Argo CD) does not check.
Anyone who may create Deployments in a namespace (a tenant with the edit role) can set those annotations: a
Deployment counts only when its release installed a ClusterRole (rbac.create, tenantRoles.create), which Helm
annotates with the release's name and namespace and which no tenant can create, or when its ServiceAccount may patch
provisionedthroughputendpoints/status (RBAC managed elsewhere, rbac.create=false): bound to that right by a
ClusterRoleBinding, or by a RoleBinding in a namespace it says it watches. Only who holds that right can grant it,
and no tenant role does, so a decoy cannot block the platform team's upgrade.
*/}}
{{- define "pt-operator.validateOtherReleases" -}}
{{- $mine := .Values.watchNamespaces | default list -}}
{{- $installed := dict -}}
{{- $clusterRoles := dict -}}
{{- range $role := (lookup "rbac.authorization.k8s.io/v1" "ClusterRole" "" "").items | default list -}}
{{- $_ := set $clusterRoles $role.metadata.name ($role.rules | default list) -}}
{{- $helm := $role.metadata.annotations | default dict -}}
{{- if and (get $helm "meta.helm.sh/release-name") (get $helm "meta.helm.sh/release-namespace") -}}
{{- $_ := set $installed (printf "%s/%s" (get $helm "meta.helm.sh/release-namespace") (get $helm "meta.helm.sh/release-name")) true -}}
{{- end -}}
{{- end -}}
{{- $granted := dict -}}
{{- range $binding := (lookup "rbac.authorization.k8s.io/v1" "ClusterRoleBinding" "" "").items | default list -}}
{{- if include "pt-operator.grantsStatusPatch" (get $clusterRoles $binding.roleRef.name) -}}
{{- range $subject := $binding.subjects | default list -}}
{{- if eq $subject.kind "ServiceAccount" -}}{{- $_ := set $granted (printf "%s/%s" $subject.namespace $subject.name) true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $other := (lookup "apps/v1" "Deployment" "" "").items | default list -}}
{{- $annotations := $other.metadata.annotations | default dict -}}
{{- $labels := $other.metadata.labels | default dict -}}
{{- $self := and (eq $other.metadata.namespace $.Release.Namespace) (eq (get $labels "app.kubernetes.io/instance") $.Release.Name) -}}
{{- $shards := and $.Values.labelSelector (get $annotations "ptoperator.io/label-selector") -}}
{{- $theirs := splitList "," (get $annotations "ptoperator.io/watch-namespaces") | compact -}}
{{- $release := hasKey $installed (printf "%s/%s" $other.metadata.namespace (get $labels "app.kubernetes.io/instance")) -}}
{{- $account := printf "%s/%s" $other.metadata.namespace ($other.spec.template.spec.serviceAccountName | default "default") -}}
{{- $release = or $release (hasKey $granted $account) -}}
{{- if and (hasKey $annotations "ptoperator.io/watch-namespaces") (not $release) (not $self) (not $shards) -}}
{{- range $namespace := $theirs -}}
{{- range $binding := (lookup "rbac.authorization.k8s.io/v1" "RoleBinding" $namespace "").items | default list -}}
{{- $rules := get $clusterRoles $binding.roleRef.name -}}
{{- if eq $binding.roleRef.kind "Role" -}}{{- $rules = (lookup "rbac.authorization.k8s.io/v1" "Role" $namespace $binding.roleRef.name).rules -}}{{- end -}}
{{- range $subject := $binding.subjects | default list -}}
{{- if and (eq $subject.kind "ServiceAccount") (eq (printf "%s/%s" $subject.namespace $subject.name) $account) (include "pt-operator.grantsStatusPatch" $rules) -}}
{{- $release = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey $annotations "ptoperator.io/watch-namespaces") $release (not $self) (not $shards) -}}
{{- $shared := list -}}
{{- range $namespace := $mine -}}
{{- if or (empty $theirs) (has $namespace $theirs) -}}{{- $shared = append $shared $namespace -}}{{- end -}}
{{- end -}}
{{- if empty $mine -}}{{- $shared = $theirs -}}{{- end -}}
{{- if or $shared (and (empty $mine) (empty $theirs)) -}}
{{- fail (printf "another pt-operator, release %q in namespace %s, already reconciles the endpoints of %s: two operators would act on the same objects. Give each release disjoint watchNamespaces, or both a labelSelector of their own (shards)" (get $labels "app.kubernetes.io/instance") $other.metadata.namespace (ternary "every namespace" (printf "namespace %s" (join ", " $shared)) (empty $shared))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when one of these RBAC rules grants patch on provisionedthroughputendpoints/status (of any object), else empty. */}}
{{- define "pt-operator.grantsStatusPatch" -}}
{{- range $rule := . | default list -}}
{{- $groups := $rule.apiGroups | default list -}}
{{- $resources := $rule.resources | default list -}}
{{- $verbs := $rule.verbs | default list -}}
{{- if and (empty $rule.resourceNames) (or (has "serving.ptoperator.io" $groups) (has "*" $groups)) (or (has "provisionedthroughputendpoints/status" $resources) (has "*" $resources) (has "*/status" $resources)) (or (has "patch" $verbs) (has "*" $verbs)) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Whether the default workspace's credentials come from defaultWorkspace.existingSecret, mounted as files
(authType pat or oauth-m2m with a host): "true", or empty.
*/}}
{{- define "pt-operator.defaultWorkspaceSecretMounted" -}}
{{- if and .Values.defaultWorkspace.host (has .Values.defaultWorkspace.authType (list "pat" "oauth-m2m")) }}true{{ end }}
{{- end }}

{{/*
The volume source of caBundle (a ConfigMap or a Secret, its key as ca.crt), or empty without one.
*/}}
{{- define "pt-operator.caBundleVolume" -}}
{{- with .Values.caBundle -}}
{{- if .configMap.name }}
configMap:
  name: {{ .configMap.name | quote }}
  items:
    - key: {{ required "caBundle.configMap.key is required" .configMap.key | quote }}
      path: ca.crt
{{- else if .secret.name }}
secret:
  secretName: {{ .secret.name | quote }}
  items:
    - key: {{ required "caBundle.secret.key is required" .secret.key | quote }}
      path: ca.crt
{{- end }}
{{- end }}
{{- end }}
