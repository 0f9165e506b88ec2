// Package argocdhealth runs Argo CD health scripts the way Argo CD runs a health check from
// argocd-cm, so the scripts in ../resource_customizations are tested under the same rules:
//
//   - the VM is github.com/yuin/gopher-lua, opened with SkipOpenLibs and then only the package,
//     base and table libraries plus a "safe" os library (time and date) - no string, math, io or
//     debug library, unless resource.customizations.useOpenLibs.<group>_<kind> is set (we never
//     ask users to set it);
//   - Argo CD registers the safe os functions under the table module's name, so the global `os`
//     is nil and only `require("os")` reaches them;
//   - the script gets the object as the global `obj` (numbers as Lua numbers), has one second,
//     and must return a table {status, message} with a known status, or nil;
//   - an object being deleted is "Progressing: Pending deletion" before any script runs, and a
//     script error makes the health Unknown with the error as its message.
//
// These are facts from argoproj/argo-cd util/lua/lua.go, util/lua/oslib_safe.go and
// gitops-engine/pkg/health/health.go; the code here is our own.
package argocdhealth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
)

// Health is what Argo CD records for a resource.
type Health struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// The statuses a health script may return; anything else becomes Unknown.
var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

const (
	scriptTimeout             = time.Second
	invalidStatusMessage      = "Lua returned an invalid health status"
	pendingDeletionMessage    = "Pending deletion"
	incorrectReturnTypeFormat = "expect table output from Lua script, not %s"
)

// ResourceHealth is Argo CD's assessment of obj with a custom health script: deletion first, then
// the script, with a script error reported as Unknown.
func ResourceHealth(script string, obj map[string]any) Health {
	if metadata, ok := obj["metadata"].(map[string]any); ok && metadata["deletionTimestamp"] != nil {
		return Health{Status: "Progressing", Message: pendingDeletionMessage}
	}
	health, err := RunHealthScript(script, obj)
	if err != nil {
		return Health{Status: "Unknown", Message: err.Error()}
	}
	return health
}

// RunHealthScript runs one health script in Argo CD's default sandbox and converts its result as
// Argo CD does.
func RunHealthScript(script string, obj map[string]any) (Health, error) {
	state := newSandbox()
	defer state.Close()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	state.SetContext(ctx)
	state.SetGlobal("obj", toLua(state, obj))
	if err := state.DoString(script); err != nil {
		// Argo CD shows run-time errors to users without the Lua stack trace.
		var apiError *lua.ApiError
		if errors.As(err, &apiError) && apiError.Type == lua.ApiErrorRun {
			apiError.StackTrace = ""
		}
		return Health{}, err
	}
	returned := state.Get(-1)
	switch returned.Type() {
	case lua.LTNil:
		return Health{}, nil
	case lua.LTTable:
	default:
		return Health{}, fmt.Errorf(incorrectReturnTypeFormat, returned.Type().String())
	}
	encoded, err := luajson.Encode(returned)
	if err != nil {
		return Health{}, err
	}
	var health Health
	if err := json.Unmarshal(encoded, &health); err != nil {
		// An empty Lua table encodes as [], which Argo CD takes as "no health".
		var typeError *json.UnmarshalTypeError
		if errors.As(err, &typeError) && typeError.Value == "array" {
			return Health{}, nil
		}
		return Health{}, err
	}
	if !validStatuses[health.Status] {
		return Health{Status: "Unknown", Message: invalidStatusMessage}, nil
	}
	return health, nil
}

// newSandbox opens exactly the libraries Argo CD opens for a health script from argocd-cm.
func newSandbox() *lua.LState {
	state := lua.NewState(lua.Options{SkipOpenLibs: true})
	libraries := []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	}
	for _, library := range libraries {
		if err := state.CallByParam(lua.P{Fn: state.NewFunction(library.open), NRet: 0, Protect: true}, lua.LString(library.name)); err != nil {
			panic(err)
		}
	}
	state.PreloadModule(lua.OsLibName, func(l *lua.LState) int {
		l.Push(l.SetFuncs(l.NewTable(), safeOsFunctions))
		return 1
	})
	return state
}

// openSafeOs mirrors Argo CD's OpenSafeOs, which registers the functions under the table
// module's name: the global os stays nil.
func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.TabLibName, safeOsFunctions))
	return 1
}

// Argo CD's safe os offers time and date. Our scripts use neither; time is here so the sandbox
// tests can show that require("os") works while the global os does not exist.
var safeOsFunctions = map[string]lua.LGFunction{
	"time": func(l *lua.LState) int {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	},
}

// toLua converts a decoded Kubernetes object as Argo CD does: numbers (int64 in the controller,
// float64 from JSON) become Lua numbers, json.Number a string, and unknown types nil.
func toLua(state *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case []any:
		array := state.CreateTable(len(v), 0)
		for _, item := range v {
			array.Append(toLua(state, item))
		}
		return array
	case map[string]any:
		table := state.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(state, item))
		}
		return table
	}
	return lua.LNil
}
