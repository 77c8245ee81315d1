// Command gitops-health says how GitOps tools judge Kubernetes objects, using those tools'
// own code rather than a reading of their documentation:
//
//	gitops-health kstatus < objects.json
//	    kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute), which Flux and kpt use to
//	    decide whether a sync is done: Current, InProgress, Failed, Terminating.
//	gitops-health argocd-lua health.lua < objects.json
//	    an Argo CD resource health script, run in gopher-lua (the Lua VM Argo CD embeds) with
//	    only the libraries Argo CD opens for a resource customization (package, base, table),
//	    the object as the global `obj`, and a one-second limit, as Argo CD runs it:
//	    Healthy, Progressing, Degraded, Suspended, Missing or Unknown.
//
// The input is one object or a List, as `kubectl get -o json` prints it. The output is one
// JSON line per object: {"kind","namespace","name","status","message"}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gitops-health:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: gitops-health kstatus | argocd-lua SCRIPT (objects as JSON on stdin)")
	}
	var judge func(map[string]any) (string, string, error)
	switch {
	case args[0] == "kstatus" && len(args) == 1:
		judge = kstatus
	case args[0] == "argocd-lua" && len(args) == 2:
		script, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		judge = func(object map[string]any) (string, string, error) { return argoHealth(string(script), object) }
	default:
		return fmt.Errorf("unknown command %q", args)
	}
	objects, err := readObjects(in)
	if err != nil {
		return err
	}
	encoder := json.NewEncoder(out)
	for _, object := range objects {
		u := unstructured.Unstructured{Object: object}
		s, message, err := judge(object)
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		if err := encoder.Encode(verdict{u.GetKind(), u.GetNamespace(), u.GetName(), s, message}); err != nil {
			return err
		}
	}
	return nil
}

// readObjects reads one object, or the items of a List, with whole numbers as int64 the
// way client-go decodes objects (kstatus reads metadata.generation as an int64).
func readObjects(in io.Reader) ([]map[string]any, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	var top map[string]any
	if err := utiljson.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("reading objects: %w", err)
	}
	items, isList := top["items"].([]any)
	if !isList {
		return []map[string]any{top}, nil
	}
	objects := make([]map[string]any, 0, len(items))
	for _, item := range items {
		object, ok := item.(map[string]any)
		if !ok {
			return nil, errors.New("a List item is not an object")
		}
		objects = append(objects, object)
	}
	return objects, nil
}

func kstatus(object map[string]any) (string, string, error) {
	result, err := status.Compute(&unstructured.Unstructured{Object: object})
	if err != nil {
		return "", "", err
	}
	return string(result.Status), result.Message, nil
}

var argoStatuses = map[string]bool{"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true}

func argoHealth(script string, object map[string]any) (string, string, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for name, open := range map[string]lua.LGFunction{lua.LoadLibName: lua.OpenPackage, lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(open), NRet: 0, Protect: true}, lua.LString(name)); err != nil {
			return "", "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	L.SetContext(ctx)
	L.SetGlobal("obj", toLua(L, object))
	if err := L.DoString(script); err != nil {
		return "", "", err
	}
	result, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	s := lua.LVAsString(result.RawGetString("status"))
	if !argoStatuses[s] {
		// What Argo CD reports for a status it does not know.
		return "Unknown", "Lua returned an invalid health status", nil
	}
	return s, lua.LVAsString(result.RawGetString("message")), nil
}

// toLua turns decoded JSON into Lua values: objects become tables keyed by name, arrays
// tables indexed from 1, numbers Lua numbers; null is nil (an absent key).
func toLua(L *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case map[string]any:
		table := L.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetString(key, toLua(L, item))
		}
		return table
	case []any:
		table := L.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(L, item))
		}
		return table
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}
