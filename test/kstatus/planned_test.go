package kstatus

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// One object per endpoint state as the planner writes its status (test/unit/controllers/endpoint/tool-states.ts; the
// unit test fails when a file is not what the planner writes now).
const plannedDirectory = fixtureDirectory + "/planned"

// What kstatus (Flux health checks, Helm 4 --wait) must compute for each planned state (docs/concepts.md, "Status for
// generic tools").
var plannedExpected = map[string]status.Status{
	// Created, not looked at yet: the CRD's status default (observedGeneration 0) says so; without it kstatus read Current.
	"no-status":                    status.InProgressStatus,
	"available":                    status.CurrentStatus,
	"creating":                     status.InProgressStatus,
	"updating":                     status.InProgressStatus,
	"not-ready":                    status.InProgressStatus,
	"waiting-for-rollout":          status.InProgressStatus,
	"drift-detected":               status.InProgressStatus,
	"waiting-for-capacity":         status.InProgressStatus,
	"capacity-retries-exhausted":   status.FailedStatus,
	"update-failed":                status.FailedStatus,
	"invalid-spec":                 status.FailedStatus,
	"model-not-found":              status.FailedStatus,
	"rejected-by-databricks":       status.FailedStatus,
	"not-owned":                    status.FailedStatus,
	"permission-denied":            status.FailedStatus,
	"workspace-not-ready":          status.InProgressStatus,
	"workspace-not-ready-new-spec": status.InProgressStatus,
	// The workspace needs a person (its credentials refused): nothing changes until someone fixes it.
	"workspace-stalled":             status.FailedStatus,
	"workspace-stalled-new-spec":    status.FailedStatus,
	"default-workspace-not-allowed": status.FailedStatus,
	"workspace-changed":             status.FailedStatus,
	"rate-limited-poll":             status.InProgressStatus,
	"rate-limited-new-spec":         status.InProgressStatus,
	"databricks-outage-poll":        status.InProgressStatus,
	"databricks-outage-new-spec":    status.InProgressStatus,
	// Paused: kstatus has no "suspended"; it falls back to Ready (True: Current), and a spec edited meanwhile is not observed.
	"paused":                  status.CurrentStatus,
	"paused-new-spec":         status.InProgressStatus,
	// Observe: a drift is no progress nor a failure (the operator changes nothing by design): Ready decides.
	"observed":           status.CurrentStatus,
	"observed-drifted":   status.CurrentStatus,
	"observed-not-found": status.InProgressStatus,
	// Drifted, the endpoint rolling out (another version) or failed: kstatus reads no Ready, so Reconciling and Stalled say it.
	"observed-drifted-updating": status.InProgressStatus,
	"observed-update-failed":    status.FailedStatus,
	// Deleted outside Kubernetes while observed, then made again there; Full → Observe → Full.
	"observed-deleted-elsewhere":    status.InProgressStatus,
	"observed-made-again-elsewhere": status.CurrentStatus,
	"observed-after-full":           status.CurrentStatus,
	"full-after-observe":            status.InProgressStatus,
	"canary-step-rolling-out": status.InProgressStatus,
	"canary-paused":           status.InProgressStatus,
	"canary-holding":          status.InProgressStatus,
	"canary-rolling-back":     status.FailedStatus,
	"canary-aborted":          status.FailedStatus,
	"canary-succeeded":        status.CurrentStatus,
	"canary-step-failed":      status.FailedStatus,
	"adopting":                status.InProgressStatus,
	"adopt-refused":           status.FailedStatus,
	"settings-applying":       status.InProgressStatus,
	"settings-rejected":       status.FailedStatus,
	"schedule-switching":      status.InProgressStatus,
	"deleting":                status.TerminatingStatus,
	"deletion-blocked":        status.TerminatingStatus,
	"stale-generation":        status.InProgressStatus,
	// DatabricksWorkspace: an unreachable host (or an outage) is retried, every other failure needs a person.
	"dbws-no-status":                   status.InProgressStatus,
	"dbws-authenticated":               status.CurrentStatus,
	"dbws-secret-not-found":            status.FailedStatus,
	"dbws-secret-created":              status.CurrentStatus,
	"dbws-authentication-failed":       status.FailedStatus,
	"dbws-host-unreachable":            status.InProgressStatus,
	"dbws-outage":                      status.InProgressStatus,
	"dbws-invalid-spec":                status.FailedStatus,
	"dbws-federation-host-not-trusted": status.FailedStatus,
	"dbws-stale-generation":            status.InProgressStatus,
	"dbws-credentials-lost":            status.TerminatingStatus,
}

func TestKstatusOfPlannedStates(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(plannedDirectory, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no planned objects in %s (%v)", plannedDirectory, err)
	}
	sort.Strings(files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			want, ok := plannedExpected[name]
			if !ok {
				t.Fatalf("%s.yaml has no expected kstatus", name)
			}
			result, err := status.Compute(load(t, filepath.Join("planned", name+".yaml")))
			if err != nil {
				t.Fatal(err)
			}
			if result.Status != want {
				t.Errorf("kstatus = %s (%q), want %s", result.Status, result.Message, want)
			}
		})
	}
	for name := range plannedExpected {
		if _, err := os.Stat(filepath.Join(plannedDirectory, name+".yaml")); err != nil {
			t.Errorf("expected kstatus for %s, which the planner does not write", name)
		}
	}
}
