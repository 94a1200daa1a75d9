package main_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/meterd/meterd/core/client"
)

// Black-box tests of "only the vendor mints units": the real meterd with
// -vendor-public-key-file, keys made and requests signed by the real meterctl, and every
// provisioning request the vendor did not sign sent as a customer holding the admin token
// would. None may change anything: not the licenses, not the log, not the usage database.

// signer is the vendor's side: a key pair made by meterctl signkey in dir.
type signer struct {
	t        *testing.T
	dir, key string
}

func newSigner(t *testing.T, name string) *signer {
	t.Helper()
	s := &signer{t: t, dir: t.TempDir()}
	s.key = filepath.Join(s.dir, name)
	if _, err := meterctl.Run("signkey", "-o", s.key); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *signer) pub() string { return s.key + ".pub" }

// sign has meterctl sign body, written to a file, for method and path.
func (s *signer) sign(method, path string, body []byte) string {
	s.t.Helper()
	f, err := os.CreateTemp(s.dir, "body-*.json")
	if err != nil {
		s.t.Fatal(err)
	}
	f.Close()
	sig, err := meterctl.Sign(s.key, method, path, f.Name(), body)
	if err != nil {
		s.t.Fatal(err)
	}
	return sig
}

// order signs o for method and path as the vendor would.
func (s *signer) order(method, path string, o client.Order) string {
	s.t.Helper()
	b, err := o.Body()
	if err != nil {
		s.t.Fatal(err)
	}
	return s.sign(method, path, b)
}

func (s *signer) product(method, path string, p client.Product) string {
	s.t.Helper()
	b, err := p.Body()
	if err != nil {
		s.t.Fatal(err)
	}
	return s.sign(method, path, b)
}

// licenses is GET /{owner}/licenses.
func (p *proc) licenses(owner string) []client.License {
	p.t.Helper()
	ls, err := p.c.OwnerLicenses(p.t.Context(), owner)
	if err != nil {
		p.t.Fatalf("licenses of %s: %v", owner, err)
	}
	return ls
}

func TestProcessOnlyVendorSignedProvisioning(t *testing.T) {
	t.Parallel()
	vendor, stranger := newSigner(t, "vendor.sign"), newSigner(t, "stranger.sign")
	data := t.TempDir()
	p := startMeterd(t, data, "-vendor-public-key-file", vendor.pub())
	if !strings.Contains(p.log.String(), "provisioning takes only what the vendor signed") {
		t.Errorf("start-up did not say that provisioning needs the vendor's signature:\n%s", p.log.String())
	}
	ctx := t.Context()
	const owner = "organizations/o"
	txPath := client.TransactionPath(owner)
	if _, err := p.c.PutProductSigned(ctx, "p", itemProduct, vendor.product("PUT", "/products/p", itemProduct)); err != nil {
		t.Fatalf("signed product: %v", err)
	}
	first := dayOrder("o-1", "p", 1000)
	firstSig := vendor.order("POST", txPath, first)
	firstAnswer, err := p.c.ProvisionSigned(ctx, owner, first, firstSig)
	if err != nil {
		t.Fatalf("signed order: %v", err)
	}
	again, err := p.c.ProvisionSigned(ctx, owner, first, firstSig)
	if err != nil || !reflect.DeepEqual(again, firstAnswer) {
		t.Fatalf("the signed order sent twice: %v\n%+v\nwant the first answer\n%+v", err, again, firstAnswer)
	}
	p.consumeUnits(1)
	seqBefore := p.lastSeq()
	licensesBefore := p.licenses(owner)

	order := dayOrder("o-2", "p", 1_000_000_000) // a billion units the vendor never sold
	changed := order
	changed.Items = []client.OrderItem{order.Items[0]}
	changed.Items[0].Quantity = 9_000_000_000
	cheap := itemProduct
	cheap.CreditAmount = 9
	refusals := []struct {
		name string
		send func() error
	}{
		{"missing", func() error { _, err := p.c.ProvisionSigned(ctx, owner, order, ""); return err }},
		{"malformed", func() error { _, err := p.c.ProvisionSigned(ctx, owner, order, "ed25519=not-base64"); return err }},
		{"wrong key", func() error {
			_, err := p.c.ProvisionSigned(ctx, owner, order, stranger.order("POST", txPath, order))
			return err
		}},
		{"signed for another owner", func() error {
			_, err := p.c.ProvisionSigned(ctx, owner, order, vendor.order("POST", "/organizations/other/license-transactions", order))
			return err
		}},
		{"replayed to another owner", func() error { _, err := p.c.ProvisionSigned(ctx, "users/mallory", first, firstSig); return err }},
		{"signed for another method", func() error {
			_, err := p.c.ProvisionSigned(ctx, owner, order, vendor.order("PUT", txPath, order))
			return err
		}},
		{"a byte of the body changed", func() error {
			_, err := p.c.ProvisionSigned(ctx, owner, changed, vendor.order("POST", txPath, order))
			return err
		}},
		{"product unsigned", func() error { _, err := p.c.PutProductSigned(ctx, "p", cheap, ""); return err }},
		{"product with another body's signature", func() error {
			_, err := p.c.PutProductSigned(ctx, "p", cheap, vendor.product("PUT", "/products/p", itemProduct))
			return err
		}},
		{"product signed by a stranger", func() error {
			_, err := p.c.PutProductSigned(ctx, "p", cheap, stranger.product("PUT", "/products/p", cheap))
			return err
		}},
	}
	for _, r := range refusals {
		var api *client.APIError
		if err := r.send(); !errors.As(err, &api) || api.Status != 403 || api.Code != "bad_signature" || api.Message == "" {
			t.Errorf("%s: %v; want 403 bad_signature with a message", r.name, err)
		}
	}
	if got := p.licenses(owner); !reflect.DeepEqual(got, licensesBefore) {
		t.Fatalf("licenses changed across refused requests:\nbefore %+v\nafter  %+v", licensesBefore, got)
	}
	if got := p.licenses("users/mallory"); got == nil || len(got) != 0 {
		t.Fatalf("users/mallory after a replayed order: %+v", got)
	}
	if seq := p.lastSeq(); seq != seqBefore+1 {
		t.Fatalf("the log went from seq %d to %d across refused requests: they wrote records", seqBefore, seq)
	}
	// Still free: the refused order's externalId, for the vendor's own order.
	own := dayOrder("o-2", "p", 5)
	if _, err := p.c.ProvisionSigned(ctx, owner, own, vendor.order("POST", txPath, own)); err != nil {
		t.Fatalf("the vendor's order under a refused externalId: %v", err)
	}
	p.stop(syscall.SIGTERM)

	// What the vendor reads: every provision signed, none unsigned, the refused ones nowhere.
	key, db := filepath.Join(data, "usage.key"), filepath.Join(data, "usage.db")
	out, err := meterctl.Run("verify", "-key", key, "-vendor-pub", vendor.pub(), db)
	if err != nil || !strings.Contains(string(out), "provisions=2 vendor-signed=2 unsigned=0 bad-signature=0") {
		t.Fatalf("verify -vendor-pub: %v\n%s", err, out)
	}
	list, err := meterctl.Run("report", "-key", key, "-provisions", "-vendor-pub", vendor.pub(), "-format", "csv", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "o-1,organizations/o,Item,1000,signed,") ||
		!strings.HasPrefix(lines[2], "o-2,organizations/o,Item,5,signed,") {
		t.Fatalf("report -provisions:\n%s\nwant o-1 (1000 units) and o-2 (5 units), both signed", list)
	}
	if billed, err := meterctl.Billed(key, db); err != nil || billed["Item"] != 3 {
		t.Fatalf("billed %v, %v; want the 3 units consumed", billed, err)
	}
}

// lastSeq is the seq of a fresh decision: one unit consumed, so the caller accounts for it.
func (p *proc) lastSeq() uint64 {
	p.t.Helper()
	d, err := p.c.Consume(p.t.Context(), client.ConsumeRequest{Owner: "organizations/o", Item: "Item", Units: 1})
	if err != nil || !d.Granted {
		p.t.Fatalf("consume: %+v %v", d, err)
	}
	return d.Seq
}

func TestProcessVendorKeyFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(name, content string, mode os.FileMode, want string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		_, err := tryStart(t, t.TempDir(), "-vendor-public-key-file", path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v; want meterd to refuse to start, naming %s with %q", name, err, path, want)
		}
	}
	vendor := newSigner(t, "vendor.sign")
	priv, err := os.ReadFile(vendor.key)
	if err != nil {
		t.Fatal(err)
	}
	f("short.pub", "abcd\n", 0o644, "64 hex digits")
	f("private.pub", string(priv), 0o600, "holds a private key")
	f("open.pub", strings.Repeat("ab", 32), 0o666, "chmod go-w")
	if _, err := tryStart(t, t.TempDir(), "-vendor-public-key-file", filepath.Join(dir, "missing.pub")); err == nil ||
		!strings.Contains(err.Error(), "missing.pub: no such file") {
		t.Fatalf("missing key file: %v; want a refusal naming it", err)
	}
}
