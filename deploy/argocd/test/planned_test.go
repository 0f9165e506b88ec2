package argocdhealth

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// plannedDirectory holds one object per endpoint state as the planner writes its status
// (test/unit/controllers/endpoint/tool-states.ts; the unit test fails when a file is not what the planner writes now).
const plannedDirectory = fixtureDirectory + "/planned"

// What Argo CD must show for each planned state (docs/argocd.md), and the start of its message.
var plannedHealth = map[string]struct{ status, messagePrefix string }{
	"no-status":                    {"Progressing", "Waiting for pt-operator to reconcile the endpoint"},
	"available":                    {"Healthy", "version 3 at 1960-2940 tokens/s serves"},
	"creating":                     {"Progressing", "Creating: "},
	"updating":                     {"Progressing", "Updating: "},
	"not-ready":                    {"Progressing", "NotReady: "},
	"waiting-for-rollout":          {"Progressing", "WaitingForRollout: "},
	"drift-detected":               {"Progressing", "Updating: "},
	"waiting-for-capacity":         {"Progressing", "WaitingForCapacity: "},
	"capacity-retries-exhausted":   {"Degraded", "CapacityRetriesExhausted: "},
	"update-failed":                {"Degraded", "UpdateFailed: "},
	"invalid-spec":                 {"Degraded", "InvalidSpec: "},
	"model-not-found":              {"Degraded", "ModelNotFound: "},
	"rejected-by-databricks":       {"Degraded", "InvalidSpec: Databricks rejected"},
	"not-owned":                    {"Degraded", "NotOwned: "},
	"permission-denied":            {"Degraded", "PermissionDenied: "},
	"workspace-not-ready":          {"Progressing", "WorkspaceNotReady: "},
	"workspace-not-ready-new-spec": {"Progressing", "WorkspaceNotReady: "},
	// The workspace needs a person (its credentials refused): the message names it, its reason and what to fix.
	"workspace-stalled":             {"Degraded", "WorkspaceStalled: DatabricksWorkspace ml/prod is not ready (AuthenticationFailed): fix its credentials Secret ml/dbx-pat"},
	"workspace-stalled-new-spec":    {"Degraded", "WorkspaceStalled: DatabricksWorkspace ml/prod is not ready (AuthenticationFailed): fix its credentials Secret ml/dbx-pat"},
	"default-workspace-not-allowed": {"Degraded", "DefaultWorkspaceNotAllowed: "},
	"workspace-changed":             {"Degraded", "WorkspaceChanged: "},
	"rate-limited-poll":             {"Progressing", "RateLimited: "},
	"rate-limited-new-spec":         {"Progressing", "RateLimited: "},
	"databricks-outage-poll":        {"Progressing", "ReconcileError: "},
	"databricks-outage-new-spec":    {"Progressing", "ReconcileError: "},
	"paused":                        {"Suspended", "ReconcilePaused: "},
	"paused-new-spec":               {"Suspended", "ReconcilePaused: "},
	// managementPolicy Observe: the health is the endpoint's; a drift shows in the message (docs/argocd.md).
	"observed":           {"Healthy", "version 3 at 1960-2940 tokens/s serves"},
	"observed-drifted":   {"Healthy", "Drifted: the endpoint differs from the spec: served config: throughput 0-980"},
	"observed-not-found": {"Progressing", "EndpointNotFound: endpoint llama-chat does not exist in Databricks"},
	"observed-drifted-updating": {"Progressing", "Updating: Databricks is rolling out version 4"},
	"observed-update-failed":    {"Degraded", "UpdateFailed: the last rollout failed"},
	// Deleted outside Kubernetes while observed, then made again there; Full → Observe → Full.
	"observed-deleted-elsewhere":    {"Progressing", "EndpointNotFound: endpoint llama-chat does not exist in Databricks"},
	"observed-made-again-elsewhere": {"Healthy", "version 3 at 1960-2940 tokens/s serves"},
	"observed-after-full":           {"Healthy", "Drifted: the endpoint differs from the spec: served config: version 4 → 3"},
	"full-after-observe":            {"Progressing", "Updating: updating: version 4 → 3"},
	"canary-step-rolling-out":       {"Progressing", "Canary Progressing: "},
	"canary-paused":                 {"Suspended", "Canary Paused: step 1 (10 %) serves"},
	"canary-holding":                {"Suspended", "Canary Holding: "},
	"canary-rolling-back":           {"Degraded", "CanaryAborted: "},
	"canary-aborted":                {"Degraded", "CanaryAborted: "},
	"canary-succeeded":              {"Healthy", "version 4 at 1960-2940 tokens/s serves"},
	"canary-step-failed":            {"Degraded", "UpdateFailed: the rollout failed"},
	"adopting":                      {"Progressing", "ReconcileSuccess: adopting endpoint llama-chat"},
	"adopt-refused":                 {"Degraded", "NotOwned: "},
	// A settings part beside the served config: the health describes the served config, which serves (docs/argocd.md).
	"settings-applying":  {"Healthy", "version 3 at 1960-2940 tokens/s serves"},
	"settings-rejected":  {"Healthy", "version 3 at 1960-2940 tokens/s serves"},
	"schedule-switching": {"Progressing", "Updating: "},
	// Argo CD answers for objects being deleted itself.
	"deleting":         {"Progressing", "Pending deletion"},
	"deletion-blocked": {"Progressing", "Pending deletion"},
	"stale-generation": {"Progressing", "Waiting for pt-operator to reconcile generation 2 (status is for generation 1)"},
}

// What Argo CD must show for each DatabricksWorkspace state (the files named dbws-*).
var plannedWorkspaceHealth = map[string]struct{ status, messagePrefix string }{
	"dbws-no-status":                   {"Progressing", "Waiting for pt-operator to check the workspace credentials"},
	"dbws-authenticated":               {"Healthy", "authenticated to https://"},
	"dbws-secret-not-found":            {"Degraded", "SecretNotFound: Secret ml/dbx-pat not found"},
	"dbws-secret-created":              {"Healthy", "authenticated to https://"},
	"dbws-authentication-failed":       {"Degraded", "AuthenticationFailed: "},
	"dbws-host-unreachable":            {"Progressing", "HostUnreachable: cannot reach"},
	"dbws-outage":                      {"Progressing", "HostUnreachable: "},
	"dbws-invalid-spec":                {"Degraded", "InvalidSpec: "},
	"dbws-federation-host-not-trusted": {"Degraded", "FederationHostNotTrusted: "},
	"dbws-stale-generation":            {"Progressing", "Waiting for pt-operator to check generation 2 (status is for generation 1)"},
	"dbws-credentials-lost":            {"Progressing", "Pending deletion"},
}

func TestHealthOfPlannedStates(t *testing.T) {
	endpoint, workspace := readScript(t, endpointScript), readScript(t, workspaceScript)
	for _, name := range plannedNames(t) {
		t.Run(name, func(t *testing.T) {
			script, expected := endpoint, plannedHealth
			if strings.HasPrefix(name, "dbws-") {
				script, expected = workspace, plannedWorkspaceHealth
			}
			want, ok := expected[name]
			if !ok {
				t.Fatalf("%s.yaml has no expected health", name)
			}
			obj, err := LoadObject(filepath.Join(plannedDirectory, name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			got := ResourceHealth(script, obj)
			if got.Status != want.status || !strings.HasPrefix(got.Message, want.messagePrefix) {
				t.Errorf("health = %s %q\nwant     %s %q...", got.Status, got.Message, want.status, want.messagePrefix)
			}
		})
	}
	for name := range plannedWorkspaceHealth {
		plannedHealth[name] = plannedWorkspaceHealth[name]
	}
	for name := range plannedHealth {
		if _, err := LoadObject(filepath.Join(plannedDirectory, name+".yaml")); err != nil {
			t.Errorf("expected health for %s, which the planner does not write: %v", name, err)
		}
	}
}

func plannedNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(plannedDirectory, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no planned objects in %s (%v)", plannedDirectory, err)
	}
	names := make([]string, 0, len(files))
	for _, file := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(file), ".yaml"))
	}
	sort.Strings(names)
	return names
}
