// Command fsync measures what one durable write costs on this machine's disk, the floor under
// every sync-mode answer: 4 KiB written and fdatasync'd, in alternating rounds of
//
//	append     to a growing file, as a new WAL file is written (the size changes each time,
//	           so fdatasync also writes the inode)
//	overwrite  into a file already written and synced to its full size, as a recycled WAL
//	           file is (Pebble reuses old WAL files: only data blocks change)
//
// and then with N writers at once, each on its own file, to see how many fdatasyncs a second
// the disk sustains when groups overlap; and last, group commit as the agent does it: many
// writers sharing each fdatasync, through Pebble's own WAL writer (record.LogWriter, driven as
// Pebble's commit pipeline drives it) and through a plain file, growing and overwriting.
//
//	go -C bench run ./fsync -n 2000 -rounds 4 -dir /path/on/the/disk
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 2000, "writes per round")
	rounds := flag.Int("rounds", 4, "alternating rounds of append and overwrite")
	dir := flag.String("dir", "", "directory on the disk to measure (default: a temporary directory)")
	writers := flag.Int("writers", 64, "group commit: writers sharing each fdatasync")
	runFor := flag.Duration("d", 3*time.Second, "group commit: how long each run lasts")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "meterd-fsync-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	buf := make([]byte, 4096)
	fmt.Printf("4 KiB writes, each followed by fdatasync, %d per round, in %s\n\n", *n, *dir)
	fmt.Println("| round | mode | p50 µs | p99 µs | syncs/s |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	for r := range *rounds {
		modes := []string{"append", "overwrite"}
		if r%2 == 1 {
			slices.Reverse(modes)
		}
		for _, m := range modes {
			lat, took := one(filepath.Join(*dir, m), m == "overwrite", *n, buf)
			fmt.Printf("| %d | %s | %.0f | %.0f | %.0f |\n", r+1, m, pct(lat, 50), pct(lat, 99), float64(*n)/took.Seconds())
		}
	}
	fmt.Println("\n| writers at once (overwrite, own file each) | syncs/s together |")
	fmt.Println("| --- | --- |")
	for _, w := range []int{1, 2, 4, 8, 16} {
		var wg sync.WaitGroup
		start := time.Now()
		for i := range w {
			wg.Go(func() { one(filepath.Join(*dir, fmt.Sprintf("w%d", i)), true, *n/w, buf) })
		}
		wg.Wait()
		fmt.Printf("| %d | %.0f |\n", w, float64(*n/w*w)/time.Since(start).Seconds())
	}
	groupCommit(*dir, *writers, *rounds, *runFor)
}

// one writes n blocks to path, each followed by fdatasync, and returns each write's latency.
func one(path string, overwrite bool, n int, buf []byte) ([]time.Duration, time.Duration) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(path)
	defer f.Close()
	if overwrite { // the file at its full size, synced, as a recycled WAL file is
		for range n {
			if _, err := f.Write(buf); err != nil {
				log.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			log.Fatal(err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			log.Fatal(err)
		}
	}
	lat := make([]time.Duration, n)
	start := time.Now()
	for i := range n {
		t := time.Now()
		if _, err := f.Write(buf); err != nil {
			log.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			log.Fatal(err)
		}
		lat[i] = time.Since(t)
	}
	return lat, time.Since(start)
}

func pct(d []time.Duration, p int) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[(len(s)-1)*p/100].Microseconds())
}
