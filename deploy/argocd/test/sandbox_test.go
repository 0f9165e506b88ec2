package argocdhealth

import (
	"strings"
	"testing"
	"time"
)

// The sandbox must refuse what Argo CD refuses, or a script that passes here could fail there.
func TestSandboxHasNoStringLibrary(t *testing.T) {
	for name, script := range map[string]string{
		"string.upper":     `return {status = "Healthy", message = string.upper("x")}`,
		"string method":    `local reason = "Available"; return {status = "Healthy", message = reason:lower()}`,
		"string.find":      `if string.find("a", "a") then return {status = "Healthy"} end`,
		"math library":     `return {status = "Healthy", message = tostring(math.floor(1.5))}`,
		"global os":        `return {status = "Healthy", message = tostring(os.time())}`,
		"io library":       `io.write("x"); return {status = "Healthy"}`,
		"load from a file": `dofile("/etc/hostname"); return {status = "Healthy"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if health, err := RunHealthScript(script, map[string]any{}); err == nil {
				t.Errorf("the sandbox ran it: %+v", health)
			}
		})
	}
}

func TestSandboxOffersBaseTableAndRequiredOs(t *testing.T) {
	script := `
local parts = {}
table.insert(parts, type(require("os").time()))
table.insert(parts, tostring(#obj.status.conditions))
table.insert(parts, "generation " .. obj.metadata.generation)
for _, condition in ipairs(obj.status.conditions) do table.insert(parts, condition.type) end
return {status = "Healthy", message = table.concat(parts, ",")}`
	obj := map[string]any{
		"metadata": map[string]any{"generation": int64(3)},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready"}, map[string]any{"type": "Synced"}}},
	}
	health, err := RunHealthScript(script, obj)
	if err != nil {
		t.Fatal(err)
	}
	// Whole numbers print without a decimal point, so messages can say "generation 3".
	if want := "number,2,generation 3,Ready,Synced"; health.Message != want {
		t.Errorf("message = %q, want %q", health.Message, want)
	}
}

func TestSandboxStopsARunawayScriptAfterOneSecond(t *testing.T) {
	started := time.Now()
	_, err := RunHealthScript(`while true do end`, map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("err = %v, want the one-second deadline", err)
	}
	if elapsed := time.Since(started); elapsed > 3*time.Second {
		t.Errorf("stopped after %s", elapsed)
	}
}

func TestResultConversion(t *testing.T) {
	for _, c := range []struct {
		script string
		want   Health
		err    string
	}{
		{script: `return {status = "Degraded", message = "m"}`, want: Health{Status: "Degraded", Message: "m"}},
		{script: `return {status = "Broken"}`, want: Health{Status: "Unknown", Message: "Lua returned an invalid health status"}},
		{script: `return nil`, want: Health{}},
		{script: `return {}`, want: Health{}},
		{script: `return "Healthy"`, err: "expect table output from Lua script, not string"},
	} {
		health, err := RunHealthScript(c.script, map[string]any{})
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: err = %v, want %q", c.script, err, c.err)
			}
			continue
		}
		if err != nil || health != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.script, health, err, c.want)
		}
	}
}

func TestScriptErrorsAreUnknownAndDeletionComesFirst(t *testing.T) {
	broken := ResourceHealth(`return {status = obj.status.missing.field}`, map[string]any{"status": map[string]any{}})
	if broken.Status != "Unknown" || broken.Message == "" {
		t.Errorf("a failing script gave %+v, want Unknown with the error", broken)
	}
	deleting := ResourceHealth(`while true do end`, map[string]any{"metadata": map[string]any{"deletionTimestamp": "2026-01-01T00:00:00Z"}})
	if deleting != (Health{Status: "Progressing", Message: "Pending deletion"}) {
		t.Errorf("an object being deleted gave %+v", deleting)
	}
}
