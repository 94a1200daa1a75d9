// Command demo runs meterd's whole job end to end in a temporary directory: the vendor makes
// a key and a signing key, the agent starts on them, the vendor signs and provisions the 10Duke
// PdfPro example and a sessions-mode product (an unsigned order with the admin token is
// refused), concurrent clients consume both until they are exhausted, the customer takes a
// consistent copy of the live usage database, the agent is stopped with SIGTERM, and the
// vendor verifies the usage database, lists the provisions it signed, and bills from it.
//
//	go run ./bench/demo -bin bin     (make demo)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meterd/meterd/bench/agent"
	"github.com/meterd/meterd/bench/meterctl"
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
	a, err := agent.Start(meterd, data, io.Discard, "-usage-key-file", key, "-vendor-public-key-file", signKey+".pub",
		"-usage-write-interval", "100")
	if err != nil {
		return err
	}
	defer a.Kill()
	token, err := a.Token()
	if err != nil {
		return err
	}
	c := client{agent.NewClient(a.Base, token, 24), vendor{meterctlPath, signKey, dir}}
	granted, err := c.exercise()
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
	if err := checkSigned(meterctlPath, key, pub, db); err != nil {
		return err
	}
	return checkTotals(meterctlPath, key, db, granted)
}

func step(format string, args ...any) { fmt.Printf("\n== "+format+"\n", args...) }

func show(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// client is the bench's agent client, with JSON bodies and answers; the vendor signs what
// it provisions.
type client struct {
	*agent.Client
	vendor vendor
}

func (c client) call(method, path string, admin bool, body any) (int, map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	st, raw, err := c.Do(method, path, "", admin, b)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return st, nil, fmt.Errorf("%s %s: %q", method, path, raw)
	}
	return st, out, nil
}

// provision has the vendor sign body, kept in the file name, for method and path, then sends
// it with the signature, the bytes signed exactly; show prints the signing command and its
// output.
func (c client) provision(method, path, name string, body any, show bool) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	sig, err := c.vendor.sign(method, path, name, b, show)
	if err != nil {
		return err
	}
	st, raw, err := c.DoSigned(method, path, sig, b)
	if err == nil && st != 200 {
		err = fmt.Errorf("%s %s: %d %s", method, path, st, raw)
	}
	return err
}

// exercise provisions both products and consumes them until exhausted; it returns the units
// granted per item.
func (c client) exercise() (map[string]int64, error) {
	step("vendor: sign and PUT /products (PdfPro counts caller units; Viewer counts sessions, 2 units each)")
	if err := c.provision("PUT", "/products/"+pdfPro, "product-PdfPro.json", map[string]any{"name": "PdfPro", "licensedItem": "PdfPro",
		"trackingMode": "TRACK_BY_CALLER_CONSUMPTION_COUNT", "creditAmount": 1}, true); err != nil {
		return nil, err
	}
	if err := c.provision("PUT", "/products/"+viewer, "product-Viewer.json", map[string]any{"name": "Viewer", "licensedItem": "Viewer",
		"trackingMode": "TRACK_BY_LICENSE_SESSIONS_OPENED", "creditAmount": 2}, false); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	txPath := "/" + org + "/license-transactions"
	step("vendor: sign and POST %s (15000 PdfPro for 12 months, externalId 0000004556786)", txPath)
	if err := c.provision("POST", txPath, "order-0000004556786.json", order("0000004556786", pdfPro, 15000, now), true); err != nil {
		return nil, err
	}
	step("customer, admin token in hand: POST %s (1,000,000,000 PdfPro the vendor never sold, unsigned)", txPath)
	if err := c.refused(txPath, order("FREE-1", pdfPro, 1_000_000_000, now)); err != nil {
		return nil, err
	}
	step("vendor: sign and POST /%s/license-transactions (500 Viewer sessions × 2 units)", alice)
	if err := c.provision("POST", "/"+alice+"/license-transactions", "order-A-1.json", order("A-1", viewer, 500, now), false); err != nil {
		return nil, err
	}
	step("application: 16 clients consume PdfPro, 8 open Viewer sessions, until both are exhausted")
	granted := map[string]*atomic.Int64{"PdfPro": {}, "Viewer": {}}
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for w := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.consumeUntilExhausted(w, granted); err != nil {
				errs <- err
			}
		}()
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

func order(ext, product string, quantity int, now time.Time) map[string]any {
	return map[string]any{"transaction": map[string]any{"type": "Order", "externalId": ext,
		"items": []map[string]any{{"externalId": ext + "-1", "productId": product, "quantity": quantity,
			"licenseValidFrom":  now.Add(-time.Minute).Format(time.RFC3339),
			"licenseValidUntil": now.AddDate(1, 0, 0).Format(time.RFC3339)}}}}
}

func (c client) consumeUntilExhausted(w int, granted map[string]*atomic.Int64) error {
	rng := rand.New(rand.NewPCG(uint64(w), 1))
	sessions := w >= 16
	left := int64(-1) // once denied, the most to ask for: the license ends at exactly 0
	for n := 0; ; n++ {
		units := int64(1 + rng.IntN(25))
		if left > 0 {
			units = min(units, left)
		}
		body := map[string]any{"owner": org, "item": "PdfPro", "units": units}
		if sessions {
			body = map[string]any{"owner": alice, "item": "Viewer", "session": fmt.Sprintf("w%d-s%d", w, n),
				"user": fmt.Sprintf("user%d", w), "host": fmt.Sprintf("ws-%d", w)}
		}
		st, out, err := c.call("POST", "/v1/consume", false, body)
		switch {
		case err != nil:
			return err
		case st == 409 && out["reason"] == "exhausted":
			if left = int64(out["remaining"].(float64)); sessions || left == 0 {
				return nil
			}
			continue
		case st != 200:
			return fmt.Errorf("consume: %d %v", st, out)
		}
		granted[body["item"].(string)].Add(int64(out["units"].(float64)))
		if sessions && n%2 == 0 {
			delete(body, "units")
			if st, out, err := c.call("POST", "/v1/checkin", false, body); err != nil || st != 200 {
				return fmt.Errorf("checkin: %d %v %v", st, out, err)
			}
		}
	}
}

// refused sends an order with the admin token alone, as a customer minting units would, and
// fails unless the agent refuses it with 403 bad_signature.
func (c client) refused(path string, body any) error {
	st, out, err := c.call("POST", path, true, body)
	if err != nil {
		return err
	}
	if st != 403 || out["error"] != "bad_signature" {
		return fmt.Errorf("an unsigned order got %d %.300v, want 403 bad_signature", st, out)
	}
	fmt.Printf("%d %s: %s\n", st, out["error"], out["message"])
	return nil
}

// vendor signs requests with meterctl, as the vendor's own tooling would.
type vendor struct{ meterctl, key, dir string }

// sign writes body to the file name and has meterctl sign it; show prints the command and its
// output.
func (v vendor) sign(method, path, name string, body []byte, show bool) (string, error) {
	file := filepath.Join(v.dir, name)
	if err := os.WriteFile(file, body, 0o644); err != nil {
		return "", err
	}
	out, err := meterctl.Run(v.meterctl, "sign", "-key", v.key, "-method", method, "-path", path, file)
	if err != nil {
		return "", err
	}
	sig := strings.TrimSpace(string(out))
	if show {
		fmt.Printf("$ meterctl sign -key vendor.sign -method %s -path %s %s\n%s\n", method, path, name, sig)
	}
	return sig, nil
}

// checkSigned fails unless the provisions report lists the PdfPro order as signed by the
// vendor, with its 15,000 units, and no provision the vendor did not sign.
func checkSigned(meterctlPath, key, pub, db string) error {
	out, err := meterctl.Run(meterctlPath, "report", "-key", key, "-provisions", "-vendor-pub", pub, "-format", "json", db)
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
func checkTotals(meterctlPath, key, db string, granted map[string]int64) error {
	billed, err := meterctl.Billed(meterctlPath, key, db)
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
