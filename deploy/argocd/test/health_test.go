package argocdhealth

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	customizationsDirectory = "../resource_customizations"
	fixtureDirectory        = "fixtures"
	endpointScript          = customizationsDirectory + "/serving.ptoperator.io/ProvisionedThroughputEndpoint/health.lua"
	workspaceScript         = customizationsDirectory + "/serving.ptoperator.io/DatabricksWorkspace/health.lua"
)

// healthCase is one captured object and what Argo CD must show for it.
type healthCase struct {
	fixture string
	// edit turns the captured object into a neighbouring state (nil: the capture as is).
	edit          func(obj map[string]any)
	name          string
	status        string
	messagePrefix string
}

var endpointCases = []healthCase{
	{fixture: "endpoint-no-status.yaml", status: "Progressing", messagePrefix: "Waiting for pt-operator to reconcile the endpoint"},
	{fixture: "endpoint-stale-generation.yaml", status: "Progressing", messagePrefix: "Waiting for pt-operator to reconcile generation 3 (status is for generation 2)"},
	{fixture: "endpoint-creating.yaml", status: "Progressing", messagePrefix: "Creating: "},
	{fixture: "endpoint-updating.yaml", status: "Progressing", messagePrefix: "Updating: "},
	{fixture: "endpoint-waiting-for-capacity.yaml", status: "Progressing", messagePrefix: "WaitingForCapacity: GPU capacity unavailable (attempt 1)"},
	{fixture: "endpoint-rate-limited.yaml", status: "Progressing", messagePrefix: "RateLimited: Databricks rate limit: GET /api/2.0/serving-endpoints/throttled failed (429"},
	{fixture: "endpoint-workspace-not-ready.yaml", status: "Progressing", messagePrefix: "WorkspaceNotReady: DatabricksWorkspace "},
	{fixture: "endpoint-workspace-stalled.yaml", status: "Degraded", messagePrefix: "WorkspaceStalled: DatabricksWorkspace argocd-fixtures-"},
	{fixture: "endpoint-available.yaml", status: "Healthy", messagePrefix: "version 3 at 1960-2940 tokens/s serves"},
	{fixture: "endpoint-paused.yaml", status: "Suspended", messagePrefix: `ReconcilePaused: annotation ptoperator.io/paused="true"`},
	{fixture: "endpoint-invalid-spec.yaml", status: "Degraded", messagePrefix: "InvalidSpec: throughput.tokensPerSecond.max 1000 is not a multiple"},
	{fixture: "endpoint-model-not-optimizable.yaml", status: "Degraded", messagePrefix: "ModelNotOptimizable: model system.ai.meta_llama_v3_1_8b version 1 is not eligible"},
	{fixture: "endpoint-model-not-found.yaml", status: "Degraded", messagePrefix: "ModelNotFound: model main.default.no_such_model version 1 was not found"},
	{fixture: "endpoint-not-owned.yaml", status: "Degraded", messagePrefix: "NotOwned: endpoint legacy-chat exists in Databricks but was not created by this"},
	{fixture: "endpoint-update-failed.yaml", status: "Degraded", messagePrefix: "UpdateFailed: the rollout failed: DEPLOYMENT_FAILED"},
	{fixture: "endpoint-capacity-retries-exhausted.yaml", status: "Degraded", messagePrefix: "CapacityRetriesExhausted: GPU capacity stayed unavailable through "},
	{fixture: "endpoint-update-failed-old-config-serves.yaml", status: "Degraded", messagePrefix: "UpdateFailed: the rollout failed: DEPLOYMENT_FAILED"},
	{fixture: "endpoint-permission-denied.yaml", status: "Degraded", messagePrefix: "PermissionDenied: the owner of the personal access token in Secret dbx-pat-viewer"},
	{fixture: "endpoint-permission-denied-model.yaml", status: "Degraded", messagePrefix: "PermissionDenied: the owner of the personal access token in Secret dbx-pat "},
	{fixture: "endpoint-reconcile-error.yaml", status: "Progressing", messagePrefix: "ReconcileError: GET /api/2.0/serving-endpoints/update-failed failed (503"},
	// Argo CD itself answers for objects being deleted; the script is not consulted.
	{fixture: "endpoint-pending-deletion.yaml", status: "Progressing", messagePrefix: "Pending deletion"},
	{fixture: "endpoint-canary-paused.yaml", status: "Suspended", messagePrefix: "Canary Paused: step 1 (10 %) serves; pausing until"},
	{fixture: "endpoint-canary-aborted.yaml", status: "Degraded", messagePrefix: "CanaryAborted: the canary of version 2 did not start: spec.canary.action: Abort is set. Version 3 keeps serving."},
	{fixture: "endpoint-default-workspace-not-allowed.yaml", status: "Degraded", messagePrefix: "DefaultWorkspaceNotAllowed: namespace argocd-fixtures-"},
	// The settings parts have their own conditions: the health describes the served config, which serves.
	{fixture: "endpoint-settings-rejected.yaml", status: "Healthy", messagePrefix: "version 3 at 1960-2940 tokens/s serves"},

	// Neighbouring states, derived from the captures.
	{
		name: "a fixed spec synced over a terminal failure is Progressing at once", fixture: "endpoint-invalid-spec.yaml",
		edit: bumpGeneration, status: "Progressing", messagePrefix: "Waiting for pt-operator to reconcile generation 2 (status is for generation 1)",
	},
	{
		name: "an exhausted capacity budget clears when the spec changes", fixture: "endpoint-capacity-retries-exhausted.yaml",
		edit: bumpGeneration, status: "Progressing", messagePrefix: "Waiting for pt-operator to reconcile generation 2",
	},
	{
		name: "a paused endpoint stays Suspended when its spec changes", fixture: "endpoint-paused.yaml",
		edit: bumpGeneration, status: "Suspended", messagePrefix: "ReconcilePaused: ",
	},
	{
		name: "a reconcile error is transient", fixture: "endpoint-rate-limited.yaml",
		edit: setCondition("Synced", "False", "ReconcileError", "connect ECONNREFUSED"), status: "Progressing", messagePrefix: "ReconcileError: connect ECONNREFUSED",
	},
	{
		name: "a Ready condition of an older generation is not Healthy", fixture: "endpoint-available.yaml",
		edit: setReadyGeneration(0), status: "Progressing", messagePrefix: "Waiting for the Ready condition of generation 1",
	},
	{
		// The settings parts (AI Gateway, permissions, notifications) have their own conditions; the
		// health keeps meaning "the served config": a refused part shows on its condition, not here.
		name: "a rejected settings part leaves a serving endpoint Healthy", fixture: "endpoint-available.yaml",
		edit: addCondition("AiGatewaySynced", "False", "Rejected", "Databricks rejected the change: Catalog 'missing' does not exist."), status: "Healthy", messagePrefix: "version 3 at 1960-2940 tokens/s serves",
	},
	{
		// managementPolicy Observe: the operator changes nothing by design, so the health is the endpoint's own.
		name: "an observed endpoint that differs from its spec is Healthy, and says how it differs", fixture: "endpoint-available.yaml",
		edit:   setCondition("Synced", "False", "Drifted", "the endpoint differs from the spec: served config: version 4 → 3; nothing is changed: managementPolicy is Observe"),
		status: "Healthy", messagePrefix: "Drifted: the endpoint differs from the spec: served config: version 4 → 3",
	},
	{
		name: "an observed endpoint that differs from its spec and whose rollout failed is Degraded", fixture: "endpoint-available.yaml",
		edit: all(
			setCondition("Synced", "False", "Drifted", "the endpoint differs from the spec: served config: version 4 → 3; nothing is changed: managementPolicy is Observe"),
			setCondition("Ready", "False", "UpdateFailed", "the last rollout failed: DEPLOYMENT_FAILED: the model failed to load"),
		),
		status: "Degraded", messagePrefix: "UpdateFailed: the last rollout failed",
	},
	{
		name: "an observed endpoint that does not exist is Progressing (whoever manages it may create it)", fixture: "endpoint-available.yaml",
		edit: all(
			setCondition("Synced", "False", "EndpointNotFound", "endpoint llama-chat does not exist in Databricks; managementPolicy is Observe, so the operator does not create it"),
			setCondition("Ready", "False", "EndpointNotFound", "endpoint llama-chat does not exist in Databricks; managementPolicy is Observe, so the operator does not create it"),
		),
		status: "Progressing", messagePrefix: "EndpointNotFound: endpoint llama-chat does not exist",
	},
	{
		name: "a canary paused at a step is Suspended", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "Paused", "step 1 (10 %) serves; pausing until 2026-03-02T09:42:40Z"), status: "Suspended", messagePrefix: "Canary Paused: step 1 (10 %) serves; pausing until",
	},
	{
		name: "a canary held by the user is Suspended", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "Holding", "held at step 1 (10 %) by the user"), status: "Suspended", messagePrefix: "Canary Holding: held at step 1",
	},
	{
		// What the operator writes while a step serves: Ready False CanaryInProgress (the version bump is not done),
		// Synced True; the canary's phase still decides, so a step in its pause or held stays Suspended.
		name: "a paused step as the operator writes it (Ready=False CanaryInProgress) is Suspended", fixture: "endpoint-available.yaml",
		edit: all(
			setCanary("3", "Paused", "step 1 (10 %) serves; pausing until 2026-03-02T09:42:40Z"),
			setCondition("Ready", "False", "CanaryInProgress", "canary of version 3: step 1 (10 %) serves; pausing until 2026-03-02T09:42:40Z; version 2 serves the other 90 %"),
			addCondition("Reconciling", "True", "CanaryInProgress", "canary of version 3: step 1 (10 %) serves; pausing until 2026-03-02T09:42:40Z; version 2 serves the other 90 %"),
		),
		status: "Suspended", messagePrefix: "Canary Paused: step 1 (10 %) serves; pausing until",
	},
	{
		name: "a held step as the operator writes it (Ready=False CanaryInProgress) is Suspended", fixture: "endpoint-available.yaml",
		edit: all(
			setCanary("3", "Holding", "held at step 1 (10 %) by the user"),
			setCondition("Ready", "False", "CanaryInProgress", "canary of version 3: held at step 1 (10 %) by the user; version 2 serves the other 90 %"),
		),
		status: "Suspended", messagePrefix: "Canary Holding: held at step 1",
	},
	{
		name: "Ready=False CanaryInProgress without a canary record of the spec's version is Progressing", fixture: "endpoint-available.yaml",
		edit:   setCondition("Ready", "False", "CanaryInProgress", "canary of version 3: step 1 (10 %) serves; version 2 serves the other 90 %"),
		status: "Progressing", messagePrefix: "CanaryInProgress: canary of version 3: step 1 (10 %) serves",
	},
	{
		name: "a canary step rolling out is Progressing", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "Progressing", "rolling out step 2: 50 % of the traffic to version 3"), status: "Progressing", messagePrefix: "Canary Progressing: rolling out step 2",
	},
	{
		name: "a canary promotion is Progressing", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "Promoting", "after the last step: moving all traffic to version 3"), status: "Progressing", messagePrefix: "Canary Promoting: ",
	},
	{
		// The operator also writes Synced=False UpdateFailed (or CapacityRetriesExhausted), which matches first.
		name: "a canary step whose rollout failed is Degraded", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "StepFailed", "step 1 (10 % to version 3): the rollout failed: DEPLOYMENT_FAILED: the model failed to load."), status: "Degraded", messagePrefix: "Canary StepFailed: step 1 (10 % to version 3): the rollout failed",
	},
	{
		// The operator also writes Synced=False UpdateFailed (the rollback failed), which matches first.
		name: "a canary whose rollback failed is Degraded", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "RollbackFailed", "aborted by the user: all traffic back to version 2; the rollback to version 2 alone failed: DEPLOYMENT_FAILED: x."), status: "Degraded", messagePrefix: "Canary RollbackFailed: aborted by the user",
	},
	{
		name: "an aborted canary is Degraded", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "Aborted", "aborted by the user: all traffic back to version 2"), status: "Degraded", messagePrefix: "Canary Aborted: aborted by the user",
	},
	{
		// What the operator writes for an aborted canary: Ready and Synced False CanaryAborted, Synced saying how to go on.
		name: "an aborted canary is Degraded with the way to go on", fixture: "endpoint-available.yaml",
		edit: all(
			setCanary("3", "Aborted", "aborted by the user: all traffic back to version 2"),
			setCondition("Ready", "False", "CanaryAborted", "version 2 at 1960-2940 tokens/s serves; the canary of version 3 was aborted (aborted by the user: all traffic back to version 2). Version 2 keeps serving."),
			setCondition("Synced", "False", "CanaryAborted", `the canary of version 3 was aborted (aborted by the user: all traffic back to version 2). Version 2 keeps serving. Set model.version back to "2", or to another version to start a new canary.`),
		),
		status: "Degraded", messagePrefix: `CanaryAborted: the canary of version 3 was aborted (aborted by the user: all traffic back to version 2). Version 2 keeps serving. Set model.version back to "2"`,
	},
	{
		name: "a finished canary leaves the endpoint Healthy", fixture: "endpoint-available.yaml",
		edit: setCanary("3", "Succeeded", "version 3 serves all traffic; version 2 was removed"), status: "Healthy", messagePrefix: "version 3 at 1960-2940 tokens/s serves",
	},
	{
		name: "a canary record of another version does not count", fixture: "endpoint-available.yaml",
		edit: setCanary("4", "Paused", "step 1 (10 %) serves"), status: "Healthy", messagePrefix: "version 3 at 1960-2940 tokens/s serves",
	},
	{
		name: "Ready=False Deleting is Progressing (Argo CD shows Pending deletion first when a deletionTimestamp is set)", fixture: "endpoint-available.yaml",
		edit: setCondition("Ready", "False", "Deleting", "deleting endpoint llama-chat"), status: "Progressing", messagePrefix: "Deleting: deleting endpoint llama-chat",
	},
	{
		name: "a namespace not allowed the default workspace is Degraded (an admin or a workspaceRef must change it)", fixture: "endpoint-available.yaml",
		edit: setCondition("Synced", "False", "DefaultWorkspaceNotAllowed", "namespace ml may not use the default workspace"), status: "Degraded",
		messagePrefix: "DefaultWorkspaceNotAllowed: namespace ml may not use the default workspace",
	},
	{
		name: "an endpoint whose DatabricksWorkspace needs a person is Degraded (its Secret, credentials or spec must be fixed)", fixture: "endpoint-available.yaml",
		edit: setCondition("Synced", "False", "WorkspaceStalled", "DatabricksWorkspace ml/prod is not ready (SecretNotFound): fix its credentials Secret ml/dbx-pat; this endpoint goes on by itself once the workspace is Ready. The workspace says: Secret ml/dbx-pat not found"), status: "Degraded",
		messagePrefix: "WorkspaceStalled: DatabricksWorkspace ml/prod is not ready (SecretNotFound): fix its credentials Secret ml/dbx-pat",
	},
	{
		name: "an endpoint whose object now names another workspace is Degraded (the user must point it back or ask for the create)", fixture: "endpoint-available.yaml",
		edit: setCondition("Synced", "False", "WorkspaceChanged", "endpoint llama-chat (id 1) was created in workspace https://a"), status: "Degraded",
		messagePrefix: "WorkspaceChanged: endpoint llama-chat (id 1) was created in workspace https://a",
	},
	{
		// An adopted endpoint the operator's identity may not manage (no CAN_MANAGE): only a grant helps.
		name: "a permission denied on the endpoint is Degraded (a grant in Databricks must change it)", fixture: "endpoint-available.yaml",
		edit: all(
			setCondition("Ready", "False", "PermissionDenied", "the owner of the personal access token in Secret viewer-pat (DatabricksWorkspace ml/ws2) lacks a permission on serving endpoint tf-made"),
			setCondition("Synced", "False", "PermissionDenied", "the owner of the personal access token in Secret viewer-pat (DatabricksWorkspace ml/ws2) lacks a permission on serving endpoint tf-made: PATCH /api/2.0/serving-endpoints/tf-made/tags failed (403, PermissionDenied). Grant CAN_MANAGE on tf-made to that identity"),
		),
		status: "Degraded", messagePrefix: "PermissionDenied: the owner of the personal access token in Secret viewer-pat",
	},
	{
		// The workspace holds as many serving endpoints as Databricks allows: someone must delete one (or raise the limit).
		name: "a create refused by the workspace's quota of endpoints is Degraded (deleting endpoints makes room)", fixture: "endpoint-creating.yaml",
		edit: all(
			setCondition("Ready", "False", "QuotaExceeded", "Databricks refused to create serving endpoint llama-chat because a limit of the workspace is reached"),
			setCondition("Synced", "False", "QuotaExceeded", "Databricks refused to create serving endpoint llama-chat because a limit of the workspace is reached: POST /api/2.0/serving-endpoints failed (400, QuotaExceeded)"),
		),
		status: "Degraded", messagePrefix: "QuotaExceeded: Databricks refused to create serving endpoint llama-chat",
	},
	{
		// A spec changed while another config rolls out: Databricks takes no update until it ends, so nothing was sent.
		name: "a new spec waiting for a rollout is Progressing", fixture: "endpoint-updating.yaml",
		edit: setCondition("Synced", "False", "WaitingForRollout", "version 3 at 980-1960 tokens/s rolls out in Databricks, which takes no other config update until it finishes; the spec (version 3 at 1960-2940 tokens/s) is sent then"),
		status: "Progressing", messagePrefix: "WaitingForRollout: version 3 at 980-1960 tokens/s rolls out in Databricks",
	},
	{
		// A tag edited while the spec's own config rolls out: tags are sent only once it ends, so nothing was sent yet.
		name: "a tag edit waiting for the spec's own rollout is Progressing", fixture: "endpoint-updating.yaml",
		edit: setCondition("Synced", "False", "WaitingForRollout", "the tags (commit) wait for the rollout in progress (version 3 at 1960-2940 tokens/s) and are sent when it ends: the operator changes nothing beside the served config while it rolls out"),
		status: "Progressing", messagePrefix: "WaitingForRollout: the tags (commit) wait for the rollout in progress",
	},
	{
		name: "Ready=False NotReady is Progressing", fixture: "endpoint-available.yaml",
		edit: setCondition("Ready", "False", "NotReady", "the endpoint is not ready"), status: "Progressing", messagePrefix: "NotReady: the endpoint is not ready",
	},
}

var workspaceCases = []healthCase{
	{fixture: "workspace-no-status.yaml", status: "Progressing", messagePrefix: "Waiting for pt-operator to check the workspace credentials"},
	{fixture: "workspace-stale-generation.yaml", status: "Progressing", messagePrefix: "Waiting for pt-operator to check generation 2 (status is for generation 1)"},
	{fixture: "workspace-authenticated.yaml", status: "Healthy", messagePrefix: "authenticated to http://127.0.0.1:"},
	{fixture: "workspace-host-unreachable.yaml", status: "Progressing", messagePrefix: "HostUnreachable: cannot reach http://127.0.0.1:9"},
	{fixture: "workspace-secret-not-found.yaml", status: "Degraded", messagePrefix: "SecretNotFound: Secret "},
	{fixture: "workspace-federation-host-not-trusted.yaml", status: "Degraded", messagePrefix: "FederationHostNotTrusted: token federation sends the operator's service-account token to http://127.0.0.1:9, which is not a trusted host."},
	{fixture: "workspace-authentication-failed.yaml", status: "Degraded", messagePrefix: "AuthenticationFailed: http://127.0.0.1:"},
	{fixture: "workspace-invalid-spec.yaml", status: "Degraded", messagePrefix: "InvalidSpec: workspace host http://adb-1234567890123456.7.azuredatabricks.net uses plain http://"},
	{
		name: "federation to a host the admin did not trust is Degraded", fixture: "workspace-authentication-failed.yaml",
		edit: setCondition("Ready", "False", "FederationHostNotTrusted", "token federation sends the operator's service-account token to https://x"), status: "Degraded",
		messagePrefix: "FederationHostNotTrusted: token federation sends",
	},
	{
		name: "a fixed Secret reference synced over a failure is Progressing at once", fixture: "workspace-secret-not-found.yaml",
		edit: bumpGeneration, status: "Progressing", messagePrefix: "Waiting for pt-operator to check generation 2",
	},
}

func TestEndpointHealth(t *testing.T) {
	runHealthCases(t, endpointScript, endpointCases)
}

func TestWorkspaceHealth(t *testing.T) {
	runHealthCases(t, workspaceScript, workspaceCases)
}

func runHealthCases(t *testing.T, scriptPath string, cases []healthCase) {
	script := readScript(t, scriptPath)
	for _, c := range cases {
		name := c.name
		if name == "" {
			name = strings.TrimSuffix(c.fixture, ".yaml")
		}
		t.Run(name, func(t *testing.T) {
			obj, err := LoadObject(filepath.Join(fixtureDirectory, c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if c.edit != nil {
				c.edit(obj)
			}
			got := ResourceHealth(script, obj)
			if got.Status != c.status || !strings.HasPrefix(got.Message, c.messagePrefix) {
				t.Errorf("health = %s %q\nwant     %s %q...", got.Status, got.Message, c.status, c.messagePrefix)
			}
		})
	}
}

// Every captured state is checked, and every checked fixture exists.
func TestEveryFixtureIsChecked(t *testing.T) {
	checked := map[string]bool{}
	for _, c := range append(append([]healthCase{}, endpointCases...), workspaceCases...) {
		checked[c.fixture] = true
	}
	files, err := filepath.Glob(filepath.Join(fixtureDirectory, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var unchecked []string
	for _, file := range files {
		name := filepath.Base(file)
		if !checked[name] {
			unchecked = append(unchecked, name)
		}
		delete(checked, name)
	}
	sort.Strings(unchecked)
	if len(unchecked) > 0 {
		t.Errorf("fixtures without a health case: %v", unchecked)
	}
	if len(checked) > 0 {
		t.Errorf("health cases without a fixture: %v", checked)
	}
}

func readScript(t *testing.T, path string) string {
	t.Helper()
	script, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(script)
}

func bumpGeneration(obj map[string]any) {
	metadata := obj["metadata"].(map[string]any)
	metadata["generation"] = metadata["generation"].(int64) + 1
}

func conditionOf(obj map[string]any, conditionType string) map[string]any {
	status := obj["status"].(map[string]any)
	for _, item := range status["conditions"].([]any) {
		condition := item.(map[string]any)
		if condition["type"] == conditionType {
			return condition
		}
	}
	panic("no " + conditionType + " condition in the fixture")
}

func setCondition(conditionType, status, reason, message string) func(map[string]any) {
	return func(obj map[string]any) {
		condition := conditionOf(obj, conditionType)
		condition["status"], condition["reason"], condition["message"] = status, reason, message
	}
}

func addCondition(conditionType, status, reason, message string) func(map[string]any) {
	return func(obj map[string]any) {
		objStatus := obj["status"].(map[string]any)
		objStatus["conditions"] = append(objStatus["conditions"].([]any), map[string]any{
			"type": conditionType, "status": status, "reason": reason, "message": message, "observedGeneration": int64(1),
		})
	}
}

func all(edits ...func(map[string]any)) func(map[string]any) {
	return func(obj map[string]any) {
		for _, edit := range edits {
			edit(obj)
		}
	}
}

func setCanary(toVersion, phase, message string) func(map[string]any) {
	return func(obj map[string]any) {
		obj["status"].(map[string]any)["canary"] = map[string]any{
			"phase": phase, "fromVersion": "2", "toVersion": toVersion, "step": int64(1), "share": int64(10), "message": message,
		}
	}
}

func setReadyGeneration(generation int64) func(map[string]any) {
	return func(obj map[string]any) {
		conditionOf(obj, "Ready")["observedGeneration"] = generation
	}
}
