package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/export"
)

// TestProcessRotationKilledAtEachStep kills a real meterd (SIGKILL, from the test build's
// hook) at each step of a daily rotation, restarts it, and has the vendor's meterctl verify the
// directory as one chain that bills exactly the units granted: a rotation cut short loses no
// row and doubles none.
func TestProcessRotationKilledAtEachStep(t *testing.T) {
	t.Parallel()
	for _, step := range []export.RotateStep{export.StepNextWritten, export.StepSealed, export.StepRenamed, export.StepNextLive} {
		t.Run(string(step), func(t *testing.T) {
			t.Parallel()
			// Two seconds before the coming UTC midnight, at real speed: the licenses' windows
			// (dayOrder) hold it.
			midnight := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
			clock := "METERD_TEST_CLOCK=" + midnight.Add(-2*time.Second).Format(time.RFC3339) + "*1"
			data := filepath.Join(t.TempDir(), "data")
			args := []string{"-usage-rotate", "daily", "-usage-write-interval", "1"}
			p, err := startEnv(t, meterdBin, data, []string{clock, "METERD_TEST_KILL_AT=" + string(step)}, args...)
			if err != nil {
				t.Fatal(err)
			}
			p.provision(1_000_000)
			granted := int64(0)
			for !p.Exited() {
				d, err := p.c.Consume(t.Context(), client.ConsumeRequest{Owner: "organizations/o", Item: "Item", Units: 1})
				switch {
				case err == nil && d.Granted:
					granted++
				case err == nil:
					t.Fatalf("denied: %+v", d)
				}
			}
			if !strings.Contains(p.log.String(), "test build") {
				t.Fatalf("not the test build:\n%s", p.log.String())
			}
			if p, err = startEnv(t, meterdBin, data, []string{clock}, args...); err != nil {
				t.Fatal(err)
			}
			p.consumeUnits(10)
			granted += 10
			inFlight := p.consumed(licenseOf(t, p)) - granted // the request the kill cut off, if logged
			p.stop(os.Interrupt)
			if inFlight < 0 || inFlight > 1 {
				t.Fatalf("agent counts %d units beyond the %d granted", inFlight, granted)
			}
			names := dirNames(t, data)
			sealed := export.SealedName(agentID(t, filepath.Join(data, "usage.db")), midnight.Add(-time.Hour).Format("2006-01-02"))
			if !slices.Contains(names, sealed) || !slices.Contains(names, "usage.db") || slices.Contains(names, "usage.db.next") {
				t.Fatalf("data directory holds %v, want %s and usage.db, no usage.db.next", names, sealed)
			}
			key := filepath.Join(data, "usage.key")
			out, err := meterctl.Run("verify", "-key", key, data)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "segment=2") {
				t.Fatalf("verify:\n%s", out)
			}
			billed, err := meterctl.Billed(key, data)
			if err != nil {
				t.Fatal(err)
			}
			if billed["Item"] != granted+inFlight {
				t.Fatalf("billed %d, granted %d (+%d in flight at the kill)", billed["Item"], granted, inFlight)
			}
			t.Logf("killed at %s after %d grants; billed %d", step, granted-10, billed["Item"])
		})
	}
}

func licenseOf(t *testing.T, p *proc) string {
	t.Helper()
	ls := p.licenses("organizations/o")
	if len(ls) != 1 {
		t.Fatalf("%d licenses", len(ls))
	}
	return ls[0].ID
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
