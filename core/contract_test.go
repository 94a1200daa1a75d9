package core_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"
)

// TestTransactionShape holds the answer to a license transaction to 10Duke's documented
// example (testdata/10duke-transaction-response.json, the response example of the use-count
// documentation): every field the example has, at every depth, is in ours
// with the same JSON type, and not empty where the example's is not. Ours may add fields
// (owner).
func TestTransactionShape(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("testdata/10duke-transaction-response.json")
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, newTestConfig(t), noOpts())
	a.putProduct("7a195f0b-459b-4c60-ba5e-7a3d53133e28", "PdfPro", "count", 1)
	now := time.Now()
	st, ours := a.raw(call{method: "POST", path: "/organizations/cce56388-2c7f-4dd7-8007-b7c3fbd47901/license-transactions",
		body: orderBody("0000004556786", "7a195f0b-459b-4c60-ba5e-7a3d53133e28", 15000, now, now.AddDate(1, 0, 0)), admin: true})
	if st != 200 {
		t.Fatalf("order: %d %s", st, ours)
	}
	var want, got any
	if err := json.Unmarshal(example, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ours, &got); err != nil {
		t.Fatal(err)
	}
	for _, problem := range shapeProblems("", want, got) {
		t.Error(problem)
	}
}

// shapeProblems lists where got lacks a field of want or holds it as another JSON type.
func shapeProblems(path string, want, got any) []string {
	if kind(want) != kind(got) {
		return []string{fmt.Sprintf("%s: %s in the example, %s in ours", path, kind(want), kind(got))}
	}
	var out []string
	switch w := want.(type) {
	case string:
		if w != "" && got.(string) == "" {
			out = append(out, path+": empty in ours")
		}
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing from ours", path, k))
				continue
			}
			out = append(out, shapeProblems(path+"."+k, w[k], v)...)
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) == 0 {
			return []string{path + ": empty in ours"}
		}
		if len(w) > 0 {
			out = append(out, shapeProblems(path+"[0]", w[0], g[0])...)
		}
	}
	return out
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}
