package export_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// daysOf returns n actions (see actions) re-dated every period from 2026-11-30 22:00 UTC, so
// that 100 actions at 40 minutes cross three midnights (to 2026-12-03 16:00).
func daysOf(n int, every time.Duration) []export.Action {
	acts := actions(1, n)
	start := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	for i := range acts {
		acts[i].Time = start.Add(time.Duration(i) * every)
	}
	return acts
}

func openRotating(t testing.TB, path string, level export.Level, rot export.Rotation) *export.DB {
	t.Helper()
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: level, AgentID: agentA,
		Now: func() time.Time { return created }, Rotate: rot})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// writeBatches writes acts in Writes of the given sizes, cycling, each through its last
// action's WAL seq.
func writeBatches(t testing.TB, db *export.DB, acts []export.Action, sizes ...int) {
	t.Helper()
	for i := 0; len(acts) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(acts))
		if _, err := db.Write(acts[:n], acts[n-1].WALSeq); err != nil {
			t.Fatal(err)
		}
		acts = acts[n:]
	}
}

// dbFiles lists the .db files in dir, sorted.
func dbFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, name := range files(t, dir) {
		if strings.HasSuffix(name, ".db") {
			out = append(out, filepath.Join(dir, name))
		}
	}
	slices.Sort(out)
	return out
}

func verifySet(t testing.TB, paths []string, ledger *export.Ledger) []*export.Summary {
	t.Helper()
	res, err := export.VerifySet(paths, testKey(t), export.VerifyOptions{}, ledger)
	if err != nil {
		t.Fatal(err)
	}
	var sums []*export.Summary
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Path, r.Err)
		}
		sums = append(sums, r.Summary)
	}
	return sums
}

func TestRotateDailyCrossesThreeMidnights(t *testing.T) {
	for _, level := range []export.Level{export.Standard, export.Detailed} {
		t.Run(level.String(), func(t *testing.T) {
			dir := t.TempDir()
			live := filepath.Join(dir, "usage.db")
			acts := daysOf(100, 40*time.Minute)
			db := openRotating(t, live, level, export.RotateDaily)
			writeBatches(t, db, acts, 7, 30, 1)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			want := []string{"usage-agent-a--2026-11-30.db", "usage-agent-a--2026-12-01.db",
				"usage-agent-a--2026-12-02.db", "usage.db"}
			if got := files(t, dir); !slices.Equal(got, want) {
				t.Fatalf("files %v, want %v (sealed segments self-contained: no -wal)", got, want)
			}
			paths := dbFiles(t, dir)
			slices.Reverse(paths) // VerifySet puts them in chain order
			sums := verifySet(t, paths, nil)
			var units int64
			for i, s := range sums {
				if s.Segment != int64(i+1) {
					t.Fatalf("file %d is %s, segment %d", i, s.Path, s.Segment)
				}
				units += s.Units
			}
			if units != billable(acts) {
				t.Fatalf("segments hold %d units, want %d", units, billable(acts))
			}
			totals, err := export.Report(paths, testKey(t), export.ByDay)
			if err != nil {
				t.Fatal(err)
			}
			perDay := map[string]int64{}
			for _, a := range acts {
				if a.Kind == export.Consume || a.Kind == export.Checkout {
					perDay[a.Time.Format("2006-01-02")] += a.Units
				}
			}
			got := map[string]int64{}
			for _, tot := range totals {
				got[tot.Period] += tot.Units
			}
			if len(got) != 4 || !mapsEqual(got, perDay) {
				t.Fatalf("billed per day %v, want %v", got, perDay)
			}
		})
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSegmentAlone: a segment verifies and bills on its own, its carry rows standing in for
// the segments before it.
func TestSegmentAlone(t *testing.T) {
	dir := t.TempDir()
	acts := daysOf(150, 40*time.Minute)
	db := openRotating(t, filepath.Join(dir, "usage.db"), export.Detailed, export.RotateDaily)
	writeBatches(t, db, acts, 40)
	db.Close()
	third := filepath.Join(dir, "usage-agent-a--2026-12-02.db")
	s := verifySet(t, []string{third}, nil)[0]
	var want int64
	for _, a := range acts {
		if a.Time.Format("2006-01-02") == "2026-12-02" && (a.Kind == export.Consume || a.Kind == export.Checkout) {
			want += a.Units
		}
	}
	if s.Segment != 3 || s.Period != "2026-12-02" || s.Units != want {
		t.Fatalf("segment %d period %q units %d, want 3, 2026-12-02, %d", s.Segment, s.Period, s.Units, want)
	}
	totals, err := export.Report([]string{third}, testKey(t), export.ByMonth)
	if err != nil {
		t.Fatal(err)
	}
	var billed int64
	for _, tot := range totals {
		billed += tot.Units
	}
	if billed != want {
		t.Fatalf("report of the lone segment bills %d, want %d", billed, want)
	}
	carried := queryStrings(t, third, "SELECT count(*) FROM usage WHERE action = 'carry'")
	if carried[0] != "3" {
		t.Fatalf("%s carry rows, want one per license (3)", carried[0])
	}
}

func TestSegmentsMissingOrTwice(t *testing.T) {
	dir := t.TempDir()
	db := openRotating(t, filepath.Join(dir, "usage.db"), export.Standard, export.RotateDaily)
	writeBatches(t, db, daysOf(150, 40*time.Minute), 25)
	db.Close()
	paths := dbFiles(t, dir)
	second := filepath.Join(dir, "usage-agent-a--2026-12-01.db")
	without := slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == second })
	_, err := export.VerifySet(without, testKey(t), export.VerifyOptions{}, nil)
	var ve *export.VerifyError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "segment 2 missing") {
		t.Fatalf("without segment 2: %v, want it named missing", err)
	}
	if _, err := export.Report(without, testKey(t), export.ByDay); !errors.As(err, &ve) {
		t.Fatalf("report without segment 2: %v, want the same error", err)
	}
	_, err = export.VerifySet(append(slices.Clone(paths), second), testKey(t), export.VerifyOptions{}, nil)
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "given twice") {
		t.Fatalf("segment 2 twice: %v", err)
	}
}

// TestSegmentsFromAnotherHistoryDoNotJoin: a segment of the same agent and key but another
// history (a restored data directory that went on) does not join its neighbours.
func TestSegmentsFromAnotherHistoryDoNotJoin(t *testing.T) {
	acts := daysOf(150, 40*time.Minute)
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		db := openRotating(t, filepath.Join(dir, "usage.db"), export.Standard, export.RotateDaily)
		if dir == b {
			acts[30].Units++ // a checkout on 2026-12-01
		}
		writeBatches(t, db, acts, 25)
		db.Close()
	}
	mixed := dbFiles(t, a)
	mixed[1] = filepath.Join(b, "usage-agent-a--2026-12-01.db")
	res, err := export.VerifySet(mixed, testKey(t), export.VerifyOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := res[len(res)-1]
	var ve *export.VerifyError
	if !errors.As(last.Err, &ve) || !strings.Contains(ve.Reason, "does not join") || ve.Path != mixed[2] {
		t.Fatalf("results %+v: want segment 3 not to join segment 2 of the other history", res)
	}
}

func TestLedgerAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	db := openRotating(t, filepath.Join(dir, "usage.db"), export.Standard, export.RotateDaily)
	writeBatches(t, db, daysOf(150, 40*time.Minute), 33)
	db.Close()
	paths := dbFiles(t, dir) // segments 1 to 4 sealed, then usage.db (5)
	ledger, err := export.LoadLedger(filepath.Join(t.TempDir(), "vendor.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	verifySet(t, paths[:1], ledger)
	res, err := export.VerifySet(paths[2:3], testKey(t), export.VerifyOptions{}, ledger)
	var ve *export.VerifyError
	if err != nil || !errors.As(res[0].Err, &ve) || !strings.Contains(ve.Reason, "a segment between them is missing") {
		t.Fatalf("segment 3 after segment 1: %v %+v", err, res)
	}
	verifySet(t, paths[1:3], ledger)
	res, _ = export.VerifySet(paths[2:3], testKey(t), export.VerifyOptions{}, ledger)
	if !errors.As(res[0].Err, &ve) || ve.Reason != "replayed" {
		t.Fatalf("segment 3 again: %+v", res)
	}
	totals, _, err := export.ReportWith(paths, testKey(t), export.ReportOptions{By: export.ByMonth, Ledger: ledger})
	if err == nil || !strings.Contains(err.Error(), "replayed") {
		t.Fatalf("report of all five after three accepted: %v, %v", totals, err)
	}
	totals, _, err = export.ReportWith(paths[3:], testKey(t), export.ReportOptions{By: export.ByMonth, Ledger: ledger})
	if err != nil {
		t.Fatal(err)
	}
	var billed int64
	for _, tot := range totals {
		billed += tot.Units
	}
	var want int64
	for _, p := range paths[3:] {
		s := verifySet(t, []string{p}, nil)[0]
		want += s.Units
	}
	if billed != want {
		t.Fatalf("ledger report of segments 4 and 5 billed %d, want %d", billed, want)
	}
}

// TestRotationCrashAtEachStep cuts a rotation short at each of its steps: the next Open
// finishes or undoes it, the same actions sent again are written once, and the files verify as
// one chain that bills exactly what was written.
func TestRotationCrashAtEachStep(t *testing.T) {
	steps := []export.RotateStep{export.StepNextWritten, export.StepSealed, export.StepRenamed, export.StepNextLive}
	for _, step := range steps {
		t.Run(string(step), func(t *testing.T) {
			dir := t.TempDir()
			live := filepath.Join(dir, "usage.db")
			acts := daysOf(60, 40*time.Minute) // crosses two midnights
			db := openRotating(t, live, export.Detailed, export.RotateDaily)
			writeBatches(t, db, acts[:3], 3)
			crashed := false
			export.SetRotateHook(func(s export.RotateStep) {
				if s == step && !crashed {
					crashed = true
					panic(s)
				}
			})
			defer export.SetRotateHook(nil)
			func() {
				defer func() {
					if r := recover(); r != step {
						t.Fatalf("recovered %v, want a crash at %s", r, step)
					}
				}()
				db.Write(acts[3:], acts[len(acts)-1].WALSeq)
			}()
			export.Abandon(db)
			export.SetRotateHook(nil)
			db = openRotating(t, live, export.Detailed, export.RotateDaily)
			if _, err := db.Write(acts[3:], acts[len(acts)-1].WALSeq); err != nil { // as the agent replays its WAL
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(files(t, dir), func(n string) bool { return strings.Contains(n, ".next") }) {
				t.Fatalf("left %v", files(t, dir))
			}
			sums := verifySet(t, dbFiles(t, dir), nil)
			var units, rows int64
			for _, s := range sums {
				units += s.Units
				rows += s.Rows
			}
			actionRows := int64(0)
			for _, p := range dbFiles(t, dir) {
				n, err := strconv.ParseInt(queryStrings(t, p, "SELECT count(*) FROM usage WHERE action != 'carry'")[0], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				actionRows += n
			}
			if len(sums) != 3 || units != billable(acts) || actionRows != int64(len(acts)) {
				t.Fatalf("%d files, %d units, %d action rows; want 3, %d, %d", len(sums), units, actionRows, billable(acts), len(acts))
			}
		})
	}
}

// TestRotationOffAndOn: turning rotation on makes the file segment 1 where it stands; turning
// it off leaves the live segment open-ended, so later rows stay valid.
func TestRotationOffAndOn(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "usage.db")
	acts := daysOf(150, 40*time.Minute)
	db := openRotating(t, live, export.Standard, export.RotateOff)
	writeBatches(t, db, acts[:2], 2) // 2026-11-30
	db.Close()
	db = openRotating(t, live, export.Standard, export.RotateMonthly) // its period: 2026-11
	writeBatches(t, db, acts[2:100], 20)
	db.Close()
	db = openRotating(t, live, export.Standard, export.RotateOff)
	writeBatches(t, db, acts[100:], 20)
	db.Close()
	if got := files(t, dir); !slices.Equal(got, []string{"usage-agent-a--2026-11.db", "usage.db"}) {
		t.Fatalf("files %v", got)
	}
	sums := verifySet(t, dbFiles(t, dir), nil)
	if sums[0].Segment != 1 || sums[1].Segment != 2 || sums[1].Period != "" || sums[0].Units+sums[1].Units != billable(acts) {
		t.Fatalf("summaries %+v %+v", sums[0], sums[1])
	}
	if _, err := os.Stat(live + "-wal"); err == nil {
		t.Fatal("closed live file left a -wal")
	}
}

// TestRotationKeepsARecordWhole: the actions of one WAL record share its watermark, so a
// record that straddles the boundary goes whole to the next segment, its earlier action dated
// at the period's start.
func TestRotationKeepsARecordWhole(t *testing.T) {
	dir := t.TempDir()
	acts := daysOf(4, time.Hour) // 22:00, 23:00, 00:00, 01:00
	acts[2].WALSeq = acts[1].WALSeq
	acts[1].Time = acts[2].Time.Add(-time.Second)
	db := openRotating(t, filepath.Join(dir, "usage.db"), export.Detailed, export.RotateDaily)
	writeBatches(t, db, acts, 4)
	db.Close()
	sealed := filepath.Join(dir, "usage-agent-a--2026-11-30.db")
	if got := queryStrings(t, sealed, "SELECT value FROM meta WHERE key = 'wal_seq'")[0]; got != strconv.FormatUint(acts[0].WALSeq, 10) {
		t.Fatalf("sealed segment's wal_seq %s, want %d: the straddling record stays whole", got, acts[0].WALSeq)
	}
	sums := verifySet(t, dbFiles(t, dir), nil)
	if sums[0].Rows != 1 || sums[1].Units+sums[0].Units != billable(acts) {
		t.Fatalf("rows %d in the sealed segment, units %d+%d, want 1 and %d", sums[0].Rows, sums[0].Units, sums[1].Units, billable(acts))
	}
}

// TestHundredSegmentsOfThreeAgents: 102 sealed segments and three live files, given shuffled,
// verify as three chains and bill every unit once.
func TestHundredSegmentsOfThreeAgents(t *testing.T) {
	t.Parallel() // 105 files, each synced: the disk's time, which other tests can share
	dir := t.TempDir()
	var paths []string
	var want int64
	for i, agent := range []string{"agent-one-0123456789", "agent-two-0123456789", "agent-six-0123456789"} {
		sub := filepath.Join(dir, strconv.Itoa(i))
		os.Mkdir(sub, 0o755)
		acts := daysOf(34*2, 12*time.Hour) // two a day, 2026-11-30 22:00 to 2027-01-03 10:00
		db, err := export.Open(export.Options{Path: filepath.Join(sub, "usage.db"), Key: testKey(t), Level: export.Standard,
			AgentID: agent, Now: func() time.Time { return created }, Rotate: export.RotateDaily})
		if err != nil {
			t.Fatal(err)
		}
		writeBatches(t, db, acts, 7) // several midnights a write
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, dbFiles(t, sub)...)
		want += billable(acts)
	}
	if len(paths) != 3*35 {
		t.Fatalf("%d files, want 105 (34 sealed and a live file per agent)", len(paths))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	sums := verifySet(t, paths, nil)
	var units int64
	segs := map[string]int64{}
	for _, s := range sums {
		units += s.Units
		if s.Segment != segs[s.AgentID]+1 {
			t.Fatalf("%s: segment %d after %d", s.Path, s.Segment, segs[s.AgentID])
		}
		segs[s.AgentID] = s.Segment
	}
	totals, err := export.Report(paths, testKey(t), export.ByDay)
	if err != nil {
		t.Fatal(err)
	}
	var billed int64
	for _, tot := range totals {
		billed += tot.Units
	}
	if units != want || billed != want || len(segs) != 3 {
		t.Fatalf("verified %d units, billed %d, want %d, over %d agents", units, billed, want, len(segs))
	}
}
