package openapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// record notes what an answer showed: its operation, status and error code, and inside it
// any denial reason and batch result.
func (s *spec) record(key string, c *call, a *answer, code string) {
	if s.seen[key] == nil {
		s.seen[key] = map[int]map[string]bool{}
	}
	if s.seen[key][a.status] == nil {
		s.seen[key][a.status] = map[string]bool{}
	}
	s.seen[key][a.status][code] = true
	if a.status == http.StatusOK && key != anyKey {
		if _, ok := s.goodCall[key]; !ok {
			s.goodCall[key] = *c
		}
	}
	var body struct {
		Reason  string `json:"reason"`
		Results []struct {
			Status int    `json:"status"`
			Error  string `json:"error"`
			Reason string `json:"reason"`
		} `json:"results"`
	}
	if json.Unmarshal(a.body, &body) != nil {
		return
	}
	if body.Reason != "" {
		s.reasons[body.Reason] = true
	}
	for _, r := range body.Results {
		s.items[strconv.Itoa(r.Status)] = true
		if r.Error != "" {
			s.items[strconv.Itoa(r.Status)+" "+r.Error] = true
		}
		if r.Reason != "" {
			s.reasons[r.Reason] = true
		}
	}
}

// errorCodes is the enum of the error member of a response's JSON schema: the intersection of
// the enums its allOf parts give, nil for a response that is not an error.
func errorCodes(r *openapi3.Response) []string {
	mt := r.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return enumOf(mt.Schema.Value, "error")
}

func enumOf(sch *openapi3.Schema, prop string) []string {
	var out []string
	have := false
	take := func(vals []any) {
		var these []string
		for _, v := range vals {
			if str, ok := v.(string); ok {
				these = append(these, str)
			}
		}
		if !have {
			out, have = these, true
			return
		}
		out = slices.DeleteFunc(out, func(v string) bool { return !slices.Contains(these, v) })
	}
	if p := sch.Properties[prop]; p != nil && p.Value != nil && len(p.Value.Enum) > 0 {
		take(p.Value.Enum)
	}
	for _, part := range sch.AllOf {
		if part.Value != nil {
			if sub := enumOf(part.Value, prop); sub != nil {
				take(toAny(sub))
			}
		}
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// checkCoverage fails for every route, status and error code the document lists that no
// answer showed: the document must not promise what the agent never says.
func (s *spec) checkCoverage(t *testing.T) {
	t.Helper()
	documented := map[string]*openapi3.Operation{anyKey: s.anyOp}
	for k, op := range s.operations() {
		documented[k] = op
	}
	for key, op := range documented {
		for status, ref := range op.Responses.Map() {
			code, err := strconv.Atoi(status)
			if err != nil {
				t.Errorf("%s documents response %q, not a status", key, status)
				continue
			}
			got := s.seen[key][code]
			if len(got) == 0 {
				t.Errorf("%s documents %d, which no answer in the test showed", key, code)
				continue
			}
			for _, want := range errorCodes(ref.Value) {
				if !got[want] {
					t.Errorf("%s documents %d %q, which no answer in the test showed", key, code, want)
				}
			}
		}
	}
	schemas := s.doc.Components.Schemas
	for _, reason := range enumOf(schemas["ConsumeDenial"].Value, "reason") {
		if !s.reasons[reason] {
			t.Errorf("ConsumeDenial documents reason %q, which no answer in the test showed", reason)
		}
	}
	batchErr := schemas["BatchError"].Value
	for _, st := range batchErr.Properties["status"].Value.Enum {
		if !s.items[fmt.Sprint(st)] {
			t.Errorf("BatchError documents status %v, which no batch result in the test showed", st)
		}
	}
	for _, code := range enumOf(batchErr, "error") {
		found := false
		for k := range s.items {
			found = found || strings.HasSuffix(k, " "+code)
		}
		if !found {
			t.Errorf("BatchError documents error %q, which no batch result in the test showed", code)
		}
	}
	for _, st := range []string{"200", "409"} {
		if !s.items[st] {
			t.Errorf("no batch result in the test had status %s", st)
		}
	}
}
