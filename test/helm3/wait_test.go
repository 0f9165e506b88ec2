// What Helm 3's `--wait` does with pt-operator's objects (docs/concepts.md, "Status for generic tools"): its
// ReadyChecker, the only wait Helm 3 has (Helm 4's `--wait=legacy`), knows built-in kinds only and counts every
// other kind ready at once, so a release holding a ProvisionedThroughputEndpoint whose canary has not succeeded
// (Ready=False CanaryInProgress, kstatus InProgress) or whose spec was refused (Stalled) is "ready".
package helm3

import (
	"context"
	"os"
	"testing"

	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"
)

func TestHelm3WaitCountsAnEndpointReadyWhateverItsStatus(t *testing.T) {
	checker := kube.NewReadyChecker(fake.NewSimpleClientset(), func(string, ...interface{}) {})
	for _, state := range []string{"canary-paused", "invalid-spec", "creating", "stale-generation", "workspace-stalled-new-spec"} {
		text, err := os.ReadFile("../../deploy/argocd/test/fixtures/planned/" + state + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		asJSON, err := yaml.YAMLToJSON(text)
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(asJSON); err != nil {
			t.Fatal(err)
		}
		info := &resource.Info{Name: obj.GetName(), Namespace: obj.GetNamespace(), Object: obj}
		ready, err := checker.IsReady(context.Background(), info)
		if err != nil || !ready {
			t.Errorf("%s: Helm 3 --wait: ready=%v err=%v; the docs say Helm 3 counts custom resources ready at once", state, ready, err)
		}
	}
}
