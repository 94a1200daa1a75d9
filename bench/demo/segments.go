package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/harness"
)

// segments runs a second agent with USAGE_ROTATE=daily on a clock that starts ten seconds
// before the coming UTC midnight and runs 21,600 times as fast (the test build's
// METERD_TEST_CLOCK: six hours a second), so that clients consuming for a few seconds cross
// three midnights. The vendor then verifies the directory as one chain, bills it, and renders
// the HTML report.
func segments(bin, dir string, meterctl harness.Meterctl) error {
	midnight := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	clock := midnight.Add(-10*time.Second).Format(time.RFC3339) + "*21600"
	data := filepath.Join(dir, "rotating")
	step("customer: METERD_TEST_CLOCK=%s meterd-testhooks -data-dir %s -usage-rotate daily (a test build: six hours pass each second)", clock, data)
	// The log is left out: at six hours a second, concurrent decisions a few microseconds apart
	// read clock times seconds apart, and the agent warns of each that reaches it out of order.
	a, err := harness.StartProcessEnv(filepath.Join(bin, "meterd-testhooks"), data, []string{"METERD_TEST_CLOCK=" + clock},
		io.Discard, "-usage-rotate", "daily")
	if err != nil {
		return err
	}
	defer a.Kill()
	c, err := a.Client(client.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := c.PutProduct(ctx, "scan", client.Product{Name: "ScanKit", LicensedItem: "ScanKit",
		TrackingMode: client.TrackCallerCount, CreditAmount: 1}); err != nil {
		return err
	}
	if _, err := c.Provision(ctx, org, order("scan-1", "scan", 100_000_000, time.Now())); err != nil {
		return err
	}
	granted, err := consumeUntilSealed(ctx, c, data, 3)
	if err != nil {
		return err
	}
	step("SIGTERM, then the data directory as the customer sends it")
	if code, err := a.Stop(syscall.SIGTERM, time.Minute); err != nil || code != 0 {
		return fmt.Errorf("meterd exit: code %d, %v", code, err)
	}
	if err := show(exec.Command("ls", "-l", data)); err != nil {
		return err
	}
	key := filepath.Join(data, "usage.key")
	step("vendor: meterctl verify -key usage.key %s (each segment joins the one before)", data)
	if err := show(exec.Command(meterctl.Path, "verify", "-key", key, data)); err != nil {
		return err
	}
	step("vendor: meterctl report -key usage.key -by day %s", data)
	if err := show(exec.Command(meterctl.Path, "report", "-key", key, "-by", "day", data)); err != nil {
		return err
	}
	page := filepath.Join(dir, "report-segments.html")
	step("vendor: meterctl report -key usage.key -by day -format html -o %s %s", page, data)
	if err := show(exec.Command(meterctl.Path, "report", "-key", key, "-by", "day", "-format", "html", "-o", page, data)); err != nil {
		return err
	}
	billed, err := meterctl.Billed(key, data)
	if err != nil {
		return err
	}
	if billed["ScanKit"] != granted {
		return fmt.Errorf("report bills %d units of ScanKit over the segments, but %d were granted", billed["ScanKit"], granted)
	}
	step("OK: three sealed daily segments and the live file verify as one chain and bill exactly the %d units granted", granted)
	return nil
}

// consumeUntilSealed has four clients consume until the data directory holds want sealed
// segments, and returns the units granted.
func consumeUntilSealed(ctx context.Context, c *client.Client, data string, want int) (int64, error) {
	var granted atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				d, err := c.Consume(ctx, client.ConsumeRequest{Owner: org, Item: "ScanKit", Units: int64(1 + w)})
				if err != nil || !d.Granted {
					errs <- fmt.Errorf("consume: %+v %v", d, err)
					return
				}
				granted.Add(d.Units)
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for sealed(data) < want && time.Now().Before(deadline) && len(errs) == 0 {
		if err := c.Health(ctx); err != nil { // one round trip between looks at the directory
			return 0, err
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	if n := sealed(data); n < want {
		return 0, fmt.Errorf("%d sealed segments after a minute, want %d", n, want)
	}
	return granted.Load(), nil
}

func sealed(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "usage-") && strings.HasSuffix(e.Name(), ".db") {
			n++
		}
	}
	return n
}
