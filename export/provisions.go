package export

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// SignatureState is what a provisioning transaction's vendor signature shows.
type SignatureState uint8

const (
	// Unsigned: no vendor_signature; provisioned with the admin token alone (an agent without
	// VENDOR_PUBLIC_KEY_FILE).
	Unsigned SignatureState = iota
	// SignatureUnchecked: signed, but no vendor key was given to check the signature.
	SignatureUnchecked
	// SignatureValid: the signature verifies under the vendor key, and the request it covers
	// is this transaction: the owner's license-transactions path, its externalId, as many
	// items as the transaction has rows.
	SignatureValid
	// SignatureInvalid: the signature does not verify, or covers another request.
	SignatureInvalid
)

var signatureNames = [...]string{Unsigned: "unsigned", SignatureUnchecked: "unchecked",
	SignatureValid: "signed", SignatureInvalid: "bad signature"}

func (s SignatureState) String() string {
	if int(s) < len(signatureNames) {
		return signatureNames[s]
	}
	return fmt.Sprintf("SignatureState(%d)", uint8(s))
}

// MarshalText writes the state as String does, for JSON reports.
func (s SignatureState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Transaction is one provisioning transaction as a usage database holds it: its provision rows,
// one per item, share the transaction's externalId, and the first carries the vendor's
// signature when there is one.
type Transaction struct {
	AgentID    string         `json:"agent"`
	ExternalID string         `json:"externalId"`
	Owner      string         `json:"owner"`
	Items      []string       `json:"items"` // licensed items, in row order, each once
	Units      int64          `json:"units"` // use count granted, all items
	Rows       int64          `json:"rows"`
	FirstSeq   int64          `json:"firstSeq"`
	Time       string         `json:"time"` // of the first row
	Signature  SignatureState `json:"signature"`
	Problem    string         `json:"problem,omitempty"` // why the signature is SignatureInvalid
	signed     int64          // items in the signed request, once checked
}

// provisionSet collects a file's provisions while Verify walks its rows. A signature is
// checked at its row, so that no request body is held longer than its row.
type provisionSet struct {
	agentID   string
	vendorKey ed25519.PublicKey
	byExt     map[string]int // index in list
	list      []Transaction
}

func (ps *provisionSet) add(r *row) {
	ext := r[colExternalID].s
	i, ok := ps.byExt[ext]
	if !ok {
		if ps.byExt == nil {
			ps.byExt = make(map[string]int)
		}
		i = len(ps.list)
		ps.byExt[ext] = i
		ps.list = append(ps.list, Transaction{AgentID: ps.agentID, ExternalID: ext, Owner: r[colOwner].s,
			FirstSeq: r[colSeq].i, Time: r[colTime].s})
	}
	p := &ps.list[i]
	p.Rows++
	p.Units = min(p.Units, math.MaxInt64-r[colUnits].i) + r[colUnits].i // saturates: only a forged file gets there
	if !slices.Contains(p.Items, r[colItem].s) {
		p.Items = append(p.Items, r[colItem].s)
	}
	switch {
	case r[colOwner].s != p.Owner:
		p.invalid(fmt.Sprintf("rows of two owners, %s and %s", p.Owner, r[colOwner].s))
	case r[colVendorSignature].tag == tagNull:
	case p.Signature != Unsigned:
		p.invalid(fmt.Sprintf("a second signature at seq %d", r[colSeq].i))
	default:
		p.check(ps.vendorKey, r[colVendorSignature].s, r[colVendorRequest].s)
	}
}

func (p *Transaction) invalid(problem string) {
	if p.Signature != SignatureInvalid {
		p.Signature, p.Problem = SignatureInvalid, problem
	}
}

// check sets p's signature state from the signature and the request it covers.
func (p *Transaction) check(key ed25519.PublicKey, sig, req string) {
	if key == nil {
		p.Signature = SignatureUnchecked
		return
	}
	if err := CheckSignature(key, sig, []byte(req)); err != nil {
		p.invalid(strings.TrimPrefix(err.Error(), ErrBadSignature.Error()+": "))
		return
	}
	items, problem := signedTransaction(req, p.Owner, p.ExternalID)
	if problem != "" {
		p.invalid(problem)
		return
	}
	p.Signature, p.signed = SignatureValid, items
}

// signedTransaction checks that a signed request is the license transaction of owner with
// externalId ext, and returns its number of items.
func signedTransaction(req, owner, ext string) (int64, string) {
	head, body, _ := strings.Cut(req, "\n")
	if want := "POST /" + owner + "/license-transactions"; head != want {
		return 0, fmt.Sprintf("signed for %s, not %s", quoteShort(head), want)
	}
	var tx struct {
		Transaction struct {
			ExternalID string            `json:"externalId"`
			Items      []json.RawMessage `json:"items"`
		} `json:"transaction"`
	}
	if err := json.Unmarshal([]byte(body), &tx); err != nil {
		return 0, "the signed body is not a license transaction: " + err.Error()
	}
	if tx.Transaction.ExternalID != ext {
		return 0, fmt.Sprintf("signed for externalId %s", quoteShort(tx.Transaction.ExternalID))
	}
	return int64(len(tx.Transaction.Items)), ""
}

// done returns the provisions once every row is in: a valid signature must cover as many
// items as the transaction has rows, so that rows added under a signed externalId show.
func (ps *provisionSet) done() []Transaction {
	for i := range ps.list {
		p := &ps.list[i]
		if p.Signature == SignatureValid && p.signed != p.Rows {
			p.invalid(fmt.Sprintf("the signed order has %d items, the file %d rows", p.signed, p.Rows))
		}
	}
	return ps.list
}

// SignatureCounts counts s.Transactions by signature state.
func (s *Summary) SignatureCounts() (counts [len(signatureNames)]int) {
	for _, p := range s.Transactions {
		counts[p.Signature]++
	}
	return counts
}
