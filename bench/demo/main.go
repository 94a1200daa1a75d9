// Command demo runs meterd's whole job end to end in a temporary directory: the vendor makes
// a key and a signing key, the agent starts on them, the vendor signs and provisions the 10Duke
// PdfPro example and a sessions-mode product (an unsigned order with the admin token is
// refused), concurrent clients consume both until they are exhausted, the customer takes a
// consistent copy of the live usage database, the agent is stopped with SIGTERM, and the
// vendor verifies the usage database, lists the provisions it signed, and bills from it. A
// second agent then rotates its usage database daily on a fast clock across three midnights,
// and the vendor verifies and bills the segments as one chain (segments.go). The
// agent is started through core/harness; the application and the vendor's tooling talk to it
// through core/client, as a real application would.
//
//	go -C bench run ./demo -bin ../bin     (make demo)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/harness"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding meterd and meterctl")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.Parse()
	if err := run(*bin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

const (
	pdfPro = "7a195f0b-459b-4c60-ba5e-7a3d53133e28"
	org    = "organizations/cce56388-2c7f-4dd7-8007-b7c3fbd47901"
	viewer = "5c1e8a57-viewer-sessions"
	alice  = "users/alice"
)

func run(bin string, keep bool) error {
	dir, err := os.MkdirTemp("", "meterd-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	meterd, meterctlPath := filepath.Join(bin, "meterd"), filepath.Join(bin, "meterctl")
	meterctl := harness.Meterctl{Path: meterctlPath}
	key := filepath.Join(dir, "vendor.key")
	step("vendor: meterctl keygen -o %s", key)
	if err := show(exec.Command(meterctlPath, "keygen", "-o", key)); err != nil {
		return err
	}
	signKey := filepath.Join(dir, "vendor.sign")
	step("vendor: meterctl signkey -o %s", signKey)
	if err := show(exec.Command(meterctlPath, "signkey", "-o", signKey)); err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	step("customer: meterd -data-dir %s -usage-key-file vendor.key -vendor-public-key-file vendor.sign.pub -usage-write-interval 100", data)
	a, err := harness.StartProcess(meterd, data, io.Discard, "-usage-key-file", key, "-vendor-public-key-file", signKey+".pub",
		"-usage-write-interval", "100")
	if err != nil {
		return err
	}
	defer a.Kill()
	c, err := a.Client(client.Options{MaxConns: 24})
	if err != nil {
		return err
	}
	granted, err := app{c, vendor{meterctl, signKey, dir}}.exercise(context.Background())
	if err != nil {
		return err
	}
	db := filepath.Join(data, "usage.db")
	snap := filepath.Join(dir, "usage-"+time.Now().UTC().Format("2006-01")+".db")
	step("customer: meterctl snapshot -key vendor.key usage.db %s (a consistent copy while the agent runs)", filepath.Base(snap))
	if err := show(exec.Command(meterctlPath, "snapshot", "-key", key, db, snap)); err != nil {
		return err
	}
	step("SIGTERM: stop accepting, finish requests, flush the usage database")
	if code, err := a.Stop(syscall.SIGTERM, time.Minute); err != nil || code != 0 {
		return fmt.Errorf("meterd exit: code %d, %v", code, err)
	}
	pub := signKey + ".pub"
	step("vendor: meterctl verify -key vendor.key -vendor-pub vendor.sign.pub usage.db")
	if err := show(exec.Command(meterctlPath, "verify", "-key", key, "-vendor-pub", pub, db)); err != nil {
		return err
	}
	step("vendor: meterctl report -key vendor.key -provisions -vendor-pub vendor.sign.pub usage.db (to match against the vendor's orders)")
	if err := show(exec.Command(meterctlPath, "report", "-key", key, "-provisions", "-vendor-pub", pub, db)); err != nil {
		return err
	}
	step("vendor: meterctl report -key vendor.key -by month -format table usage.db")
	if err := show(exec.Command(meterctlPath, "report", "-key", key, "-by", "month", "-format", "table", db)); err != nil {
		return err
	}
	if err := checkSigned(meterctl, key, pub, db); err != nil {
		return err
	}
	if err := checkTotals(meterctl, key, db, granted); err != nil {
		return err
	}
	return segments(bin, dir, meterctl)
}

func step(format string, args ...any) { fmt.Printf("\n== "+format+"\n", args...) }

func show(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// app is the licensed application and the vendor's tooling, each through the client; the
// vendor signs what it provisions.
type app struct {
	c      *client.Client
	vendor vendor
}

// exercise provisions both products and consumes them until exhausted; it returns the units
// granted per item.
func (a app) exercise(ctx context.Context) (map[string]int64, error) {
	step("vendor: sign and PUT /products (PdfPro counts caller units; Viewer counts sessions, 2 units each)")
	if err := a.product(ctx, pdfPro, "product-PdfPro.json", client.Product{Name: "PdfPro", LicensedItem: "PdfPro",
		TrackingMode: client.TrackCallerCount, CreditAmount: 1}, true); err != nil {
		return nil, err
	}
	if err := a.product(ctx, viewer, "product-Viewer.json", client.Product{Name: "Viewer", LicensedItem: "Viewer",
		TrackingMode: client.TrackSessions, CreditAmount: 2}, false); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	txPath := client.TransactionPath(org)
	step("vendor: sign and POST %s (15000 PdfPro for 12 months, externalId 0000004556786)", txPath)
	if err := a.order(ctx, org, "order-0000004556786.json", order("0000004556786", pdfPro, 15000, now), true); err != nil {
		return nil, err
	}
	step("customer, admin token in hand: POST %s (1,000,000,000 PdfPro the vendor never sold, unsigned)", txPath)
	if err := a.refused(ctx, org, order("FREE-1", pdfPro, 1_000_000_000, now)); err != nil {
		return nil, err
	}
	step("vendor: sign and POST %s (500 Viewer sessions × 2 units)", client.TransactionPath(alice))
	if err := a.order(ctx, alice, "order-A-1.json", order("A-1", viewer, 500, now), false); err != nil {
		return nil, err
	}
	step("application: 16 clients consume PdfPro, 8 open Viewer sessions, until both are exhausted")
	granted := map[string]*atomic.Int64{"PdfPro": {}, "Viewer": {}}
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for w := range 24 {
		wg.Go(func() {
			if err := a.consumeUntilExhausted(ctx, w, granted); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	out := map[string]int64{"PdfPro": granted["PdfPro"].Load(), "Viewer": granted["Viewer"].Load()}
	fmt.Printf("granted: PdfPro %d units, Viewer %d units\n", out["PdfPro"], out["Viewer"])
	if out["PdfPro"] != 15000 || out["Viewer"] != 500*2 {
		return nil, fmt.Errorf("granted %v, want every provisioned unit: PdfPro 15000, Viewer 1000", out)
	}
	return out, nil
}

// product has the vendor sign p, kept in the file name, and puts it with the signature; show
// prints the signing command and its output.
func (a app) product(ctx context.Context, id, name string, p client.Product, show bool) error {
	body, err := p.Body()
	if err != nil {
		return err
	}
	sig, err := a.vendor.sign("PUT", client.ProductPath(id), name, body, show)
	if err != nil {
		return err
	}
	_, err = a.c.PutProductSigned(ctx, id, p, sig)
	return err
}

// order has the vendor sign o, kept in the file name, and posts it for owner with the
// signature.
func (a app) order(ctx context.Context, owner, name string, o client.Order, show bool) error {
	body, err := o.Body()
	if err != nil {
		return err
	}
	sig, err := a.vendor.sign("POST", client.TransactionPath(owner), name, body, show)
	if err != nil {
		return err
	}
	_, err = a.c.ProvisionSigned(ctx, owner, o, sig)
	return err
}

func order(ext, product string, quantity int64, now time.Time) client.Order {
	return client.Order{Type: "Order", ExternalID: ext, Items: []client.OrderItem{{ExternalID: ext + "-1", ProductID: product,
		Quantity: quantity, LicenseValidFrom: now.Add(-time.Minute).Truncate(time.Second),
		LicenseValidUntil: now.AddDate(1, 0, 0).Truncate(time.Second)}}}
}

func (a app) consumeUntilExhausted(ctx context.Context, w int, granted map[string]*atomic.Int64) error {
	rng := rand.New(rand.NewPCG(uint64(w), 1))
	sessions := w >= 16
	left := int64(-1) // once denied, the most to ask for: the license ends at exactly 0
	for n := 0; ; n++ {
		units := int64(1 + rng.IntN(25))
		if left > 0 {
			units = min(units, left)
		}
		req := client.ConsumeRequest{Owner: org, Item: "PdfPro", Units: units}
		if sessions {
			req = client.ConsumeRequest{Owner: alice, Item: "Viewer", Session: fmt.Sprintf("w%d-s%d", w, n),
				User: fmt.Sprintf("user%d", w), Host: fmt.Sprintf("ws-%d", w)}
		}
		d, err := a.c.Consume(ctx, req)
		switch {
		case err != nil:
			return err
		case !d.Granted && d.Reason == "exhausted":
			if left = d.Remaining; sessions || left == 0 {
				return nil
			}
			continue
		case !d.Granted:
			return fmt.Errorf("consume: %+v", d)
		}
		granted[req.Item].Add(d.Units)
		if sessions && n%2 == 0 {
			ci := client.CheckinRequest{Owner: req.Owner, Item: req.Item, Session: req.Session, User: req.User, Host: req.Host}
			if _, err := a.c.Checkin(ctx, ci); err != nil {
				return fmt.Errorf("checkin: %w", err)
			}
		}
	}
}

// refused sends an order with the admin token alone, as a customer minting units would, and
// fails unless the agent refuses it with 403 bad_signature.
func (a app) refused(ctx context.Context, owner string, o client.Order) error {
	_, err := a.c.Provision(ctx, owner, o)
	var api *client.APIError
	if !errors.As(err, &api) || api.Status != 403 || api.Code != "bad_signature" {
		return fmt.Errorf("an unsigned order got %v, want 403 bad_signature", err)
	}
	fmt.Printf("%d %s: %s\n", api.Status, api.Code, api.Message)
	return nil
}

// vendor signs requests with meterctl, as the vendor's own tooling would.
type vendor struct {
	meterctl harness.Meterctl
	key, dir string
}

// sign writes body to the file name and has meterctl sign it; show prints the command and its
// output.
func (v vendor) sign(method, path, name string, body []byte, show bool) (string, error) {
	sig, err := v.meterctl.Sign(v.key, method, path, filepath.Join(v.dir, name), body)
	if err != nil {
		return "", err
	}
	if show {
		fmt.Printf("$ meterctl sign -key vendor.sign -method %s -path %s %s\n%s\n", method, path, name, sig)
	}
	return sig, nil
}

// checkSigned fails unless the provisions report lists the PdfPro order as signed by the
// vendor, with its 15,000 units, and no provision the vendor did not sign.
func checkSigned(meterctl harness.Meterctl, key, pub, db string) error {
	out, err := meterctl.Run("report", "-key", key, "-provisions", "-vendor-pub", pub, "-format", "json", db)
	if err != nil {
		return err
	}
	var rep struct {
		Provisions []struct {
			ExternalID string `json:"externalId"`
			Units      int64  `json:"units"`
			Signature  string `json:"signature"`
		} `json:"provisions"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("meterctl report -provisions -format json: %w", err)
	}
	pdf := false
	for _, p := range rep.Provisions {
		if p.Signature != "signed" {
			return fmt.Errorf("provision %s is %s, want every provision signed by the vendor", p.ExternalID, p.Signature)
		}
		pdf = pdf || p.ExternalID == "0000004556786" && p.Units == 15000
	}
	if !pdf || len(rep.Provisions) != 2 {
		return fmt.Errorf("provisions %+v: want the signed PdfPro order 0000004556786 (15000 units) and the Viewer order", rep.Provisions)
	}
	return nil
}

// checkTotals compares the report with what the clients were granted.
func checkTotals(meterctl harness.Meterctl, key, db string, granted map[string]int64) error {
	billed, err := meterctl.Billed(key, db)
	if err != nil {
		return err
	}
	for item, units := range granted {
		if billed[item] != units {
			return fmt.Errorf("report bills %d units of %s, but %d were granted", billed[item], item, units)
		}
	}
	step("OK: the usage database verifies, every provision in it is signed by the vendor, and the report bills exactly the units granted (PdfPro %d, Viewer %d)",
		granted["PdfPro"], granted["Viewer"])
	return nil
}
