// Command segments writes an agent's usage database as many daily segments of many rows, for
// timing `meterctl verify` and `meterctl report` over them (bench/RESULTS.md):
//
//	go -C bench run ./segments -dir /tmp/segs -segments 100 -rows 10000
//	/usr/bin/time -v bin/meterctl verify -key /tmp/segs/usage.key /tmp/segs
//
// Rows are detailed-level consumes of three licenses, one every 86400/rows seconds, so each UTC
// day fills one segment; the last day stays in the live file.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/meterd/meterd/export"
)

func main() {
	dir := flag.String("dir", "", "directory to write usage.db, its segments and usage.key into (made if missing)")
	segments := flag.Int("segments", 100, "sealed segments to write (plus the live file)")
	rows := flag.Int("rows", 10000, "rows per segment")
	flag.Parse()
	if err := run(*dir, *segments, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "segments:", err)
		os.Exit(1)
	}
}

func run(dir string, segments, rows int) error {
	if dir == "" || segments < 1 || rows < 1 {
		return fmt.Errorf("-dir, -segments >= 1 and -rows >= 1 are required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keyPath := filepath.Join(dir, "usage.key")
	key, err := export.GenerateKey(keyPath)
	if err != nil {
		return err
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db, err := export.Open(export.Options{Path: filepath.Join(dir, "usage.db"), Key: key, Level: export.Detailed,
		AgentID: "bench-segments-agent", Rotate: export.RotateDaily, Now: func() time.Time { return start }})
	if err != nil {
		return err
	}
	step := 24 * time.Hour / time.Duration(rows)
	total := (segments + 1) * rows
	const batch = 1000
	acts := make([]export.Action, 0, batch)
	for i := 0; i < total; i++ {
		lic := fmt.Sprintf("lic-%d", i%3)
		acts = append(acts, export.Action{WALSeq: uint64(i + 1), Time: start.Add(time.Duration(i) * step), Kind: export.Consume,
			Owner: "organizations/acme", Item: "PdfPro", LicenseID: lic, Units: 1, Username: "alice", Hostname: "ws-1"})
		if len(acts) == batch || i == total-1 {
			if _, err := db.Write(acts, acts[len(acts)-1].WALSeq); err != nil {
				return err
			}
			acts = acts[:0]
		}
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Printf("%d sealed segments of %d rows and a live file in %s; %d units\n", segments, rows, dir, total)
	return nil
}
