// Package kstatus checks what generic tools see: the upstream kstatus library (sigs.k8s.io/cli-utils,
// used by Flux health checks and Helm 4 --wait for kinds they do not know) computes the status of every
// object captured from real operator runs in deploy/argocd/test/fixtures (deploy/argocd/test/capture-fixtures.ts).
package kstatus

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

const fixtureDirectory = "../../deploy/argocd/test/fixtures"

// What kstatus must compute for each captured state (docs/concepts.md, "Status for generic tools").
var expected = map[string]status.Status{
	// Before the operator's first look the API server serves the CRDs' status default, observedGeneration 0 (with no
	// status at all, as before that default, kstatus read Current).
	"endpoint-no-status.yaml":             status.InProgressStatus,
	"endpoint-stale-generation.yaml":      status.InProgressStatus,
	"endpoint-creating.yaml":              status.InProgressStatus,
	"endpoint-updating.yaml":              status.InProgressStatus,
	"endpoint-waiting-for-capacity.yaml":  status.InProgressStatus,
	"endpoint-rate-limited.yaml":          status.InProgressStatus,
	"endpoint-workspace-not-ready.yaml":   status.InProgressStatus,
	"endpoint-workspace-stalled.yaml":     status.FailedStatus,
	"endpoint-available.yaml":             status.CurrentStatus,
	"endpoint-paused.yaml":                status.CurrentStatus,
	"endpoint-invalid-spec.yaml":          status.FailedStatus,
	"endpoint-model-not-optimizable.yaml": status.FailedStatus,
	"endpoint-model-not-found.yaml":       status.FailedStatus,
	"endpoint-not-owned.yaml":             status.FailedStatus,
	"endpoint-update-failed.yaml":         status.FailedStatus,
	// The rollout of an update failed while the old config serves: the spec's config does not serve.
	"endpoint-update-failed-old-config-serves.yaml": status.FailedStatus,
	// 403 on the create, and on the model of a new spec: only a grant in Databricks helps.
	"endpoint-permission-denied.yaml":       status.FailedStatus,
	"endpoint-permission-denied-model.yaml": status.FailedStatus,
	// A Databricks outage (503) holding back a new spec: the operator retries by itself.
	"endpoint-reconcile-error.yaml":            status.InProgressStatus,
	"endpoint-capacity-retries-exhausted.yaml": status.FailedStatus,
	"endpoint-pending-deletion.yaml":           status.TerminatingStatus,
	"endpoint-canary-aborted.yaml":             status.FailedStatus,
	// A canary step that serves (here in its pause): the version bump is not done.
	"endpoint-canary-paused.yaml":                 status.InProgressStatus,
	"endpoint-default-workspace-not-allowed.yaml": status.FailedStatus,
	// A settings part Databricks refused: the served config serves, but the spec is not all applied.
	"endpoint-settings-rejected.yaml":            status.FailedStatus,
	"workspace-federation-host-not-trusted.yaml": status.FailedStatus,
	"workspace-no-status.yaml":                   status.InProgressStatus,
	"workspace-stale-generation.yaml":            status.InProgressStatus,
	"workspace-authenticated.yaml":               status.CurrentStatus,
	"workspace-host-unreachable.yaml":            status.InProgressStatus,
	"workspace-secret-not-found.yaml":            status.FailedStatus,
	"workspace-authentication-failed.yaml":       status.FailedStatus,
	"workspace-invalid-spec.yaml":                status.FailedStatus,
}

func load(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(fixtureDirectory, file))
	if err != nil {
		t.Fatal(err)
	}
	asJSON, err := yaml.YAMLToJSON(text)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(asJSON); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return obj
}

func TestKstatusOfCapturedObjects(t *testing.T) {
	for _, file := range sortedKeys(expected) {
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			obj := load(t, file)
			result, err := status.Compute(obj)
			if err != nil {
				t.Fatal(err)
			}
			if result.Status != expected[file] {
				t.Errorf("kstatus = %s (%q), want %s", result.Status, result.Message, expected[file])
			}
		})
	}
}

// Stalled says why in the words of the Synced condition, so `flux` and Helm print the fix.
func TestStalledCarriesTheReasonAndMessage(t *testing.T) {
	for file, want := range expected {
		if want != status.FailedStatus {
			continue
		}
		obj := load(t, file)
		result, err := status.Compute(obj)
		if err != nil {
			t.Fatal(err)
		}
		if len(result.Conditions) != 1 || result.Conditions[0].Type != status.ConditionStalled || result.Conditions[0].Message == "" {
			t.Errorf("%s: kstatus conditions %+v, want one Stalled with a message", file, result.Conditions)
		}
	}
}

// A generation the operator has not observed is InProgress even over a terminal failure: a pushed fix is never Failed.
func TestAnUnobservedGenerationIsInProgress(t *testing.T) {
	for _, file := range []string{"endpoint-invalid-spec.yaml", "endpoint-capacity-retries-exhausted.yaml", "workspace-secret-not-found.yaml"} {
		obj := load(t, file)
		obj.SetGeneration(obj.GetGeneration() + 1)
		result, err := status.Compute(obj)
		if err != nil {
			t.Fatal(err)
		}
		if result.Status != status.InProgressStatus {
			t.Errorf("%s with a new generation: kstatus = %s, want InProgress", file, result.Status)
		}
	}
}

// Every captured object is checked, so a new capture cannot go unclassified.
func TestEveryFixtureIsChecked(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDirectory, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if _, ok := expected[filepath.Base(file)]; !ok {
			t.Errorf("%s has no expected kstatus", filepath.Base(file))
		}
	}
}

func sortedKeys(m map[string]status.Status) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}
