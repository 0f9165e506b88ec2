package argocdhealth

import (
	"flag"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// go test ./... -run TestArgoCDConfigMap -update rewrites ../argocd-cm.yaml from the scripts.
var update = flag.Bool("update", false, "rewrite ../argocd-cm.yaml from the health scripts")

const configMapPath = "../argocd-cm.yaml"

// The argocd-cm keys, resource.customizations.health.<group>_<kind>, and their scripts.
var healthKeys = []struct{ key, script string }{
	{"resource.customizations.health.serving.ptoperator.io_ProvisionedThroughputEndpoint", endpointScript},
	{"resource.customizations.health.serving.ptoperator.io_DatabricksWorkspace", workspaceScript},
}

const configMapHeader = `# Argo CD health checks for pt-operator, as argocd-cm keys. Merge them into your argocd-cm:
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file deploy/argocd/argocd-cm.yaml
# or copy the data entries into the argo-cd Helm chart's configs.cm values. See docs/argocd.md.
# Generated from deploy/argocd/resource_customizations/*/*/health.lua by
#   cd deploy/argocd/test && go test ./... -run TestArgoCDConfigMap -update
# The scripts need no resource.customizations.useOpenLibs key: they run in the default sandbox.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
`

func renderConfigMap(t *testing.T) string {
	var out strings.Builder
	out.WriteString(configMapHeader)
	for _, entry := range healthKeys {
		out.WriteString("  " + entry.key + ": |\n")
		for _, line := range strings.Split(strings.TrimRight(readScript(t, entry.script), "\n"), "\n") {
			if line == "" {
				out.WriteString("\n")
				continue
			}
			out.WriteString("    " + line + "\n")
		}
	}
	return out.String()
}

func TestArgoCDConfigMap(t *testing.T) {
	rendered := renderConfigMap(t)
	if *update {
		if err := os.WriteFile(configMapPath, []byte(rendered), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(configMapPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != rendered {
		t.Fatalf("%s differs from the health scripts; run: go test ./... -run TestArgoCDConfigMap -update", configMapPath)
	}

	// What Argo CD reads back from the ConfigMap is each script, byte for byte.
	var configMap struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(committed, &configMap); err != nil {
		t.Fatal(err)
	}
	if len(configMap.Data) != len(healthKeys) {
		t.Errorf("argocd-cm data has %d keys, want %d", len(configMap.Data), len(healthKeys))
	}
	for _, entry := range healthKeys {
		if got, want := configMap.Data[entry.key], readScript(t, entry.script); got != want {
			t.Errorf("data[%s] is not %s", entry.key, entry.script)
		}
	}
}
