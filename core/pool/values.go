package pool

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/meterd/meterd/core/licensing"
)

// Product is a product as the pool keeps it.
type Product struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	LicensedItem string `json:"licensedItem"`
	Mode         uint8  `json:"trackingMode"`
	CreditAmount int64  `json:"creditAmount"`
}

// FromProduct and Product convert between the pool's form and licensing's.
func FromProduct(p licensing.Product) Product {
	return Product{ID: p.ID, Name: p.Name, LicensedItem: p.LicensedItem, Mode: uint8(p.Mode), CreditAmount: p.CreditAmount}
}

func (p Product) Product() licensing.Product {
	return licensing.Product{ID: p.ID, Name: p.Name, LicensedItem: p.LicensedItem,
		Mode: licensing.TrackingMode(p.Mode), CreditAmount: p.CreditAmount}
}

// License is a pooled license: what it is and its credits, without any counts but each
// credit's total.
type License struct {
	ID        string   `json:"id"`
	Owner     string   `json:"owner"`
	Item      string   `json:"item"`
	ProductID string   `json:"productId"`
	Created   int64    `json:"created"` // unix ns
	Credits   []Credit `json:"credits"`
}

// Credit is one use-count credit of a pooled License.
type Credit struct {
	ID       string    `json:"id"`
	TxItemID string    `json:"transactionItemId"`
	From     time.Time `json:"validFrom"`
	Until    time.Time `json:"validUntil,omitzero"`
	Open     bool      `json:"open,omitempty"` // no end
	UseCount int64     `json:"useCount"`
}

// Window is the credit's validity window.
func (c Credit) Window() licensing.Window {
	return licensing.Window{From: c.From, Until: c.Until, Open: c.Open}
}

// CreditOf builds a Credit from a window.
func CreditOf(id, txItemID string, w licensing.Window, useCount int64) Credit {
	return Credit{ID: id, TxItemID: txItemID, From: w.From, Until: w.Until, Open: w.Open, UseCount: useCount}
}

// free is the value of free/<licenseId>.
type free struct {
	Free []int64 `json:"free"`
}

// Holding is the value of held/<licenseId>/<agentId>: per credit, the units the agent holds
// (consumed or not) and the units it last reported consumed.
type Holding struct {
	Epoch uint64  `json:"epoch"`
	Held  []int64 `json:"held"`
	Used  []int64 `json:"used"`
	// Reported is when Used was last written (unix ns), which says how fresh the pool's
	// totals are.
	Reported int64 `json:"reported"`
}

// agentDoc is the value of agent/<agentId>.
type agentDoc struct {
	Epoch   uint64 `json:"epoch"`
	Evicted bool   `json:"evicted,omitempty"`
}

// memberDoc is the value of member/<agentId>.
type memberDoc struct {
	Epoch uint64 `json:"epoch"`
	Since int64  `json:"since"` // unix ns
}

func decode(key string, v []byte, into any) error {
	if err := json.Unmarshal(v, into); err != nil {
		return fmt.Errorf("pool: key %s: %w", key, err)
	}
	return nil
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("BUG: pool: encode %T: %v", v, err))
	}
	return string(b)
}

// grown returns s extended with zeros to n entries.
func grown(s []int64, n int) []int64 {
	for len(s) < n {
		s = append(s, 0)
	}
	return s
}
