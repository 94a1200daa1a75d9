package record

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/meterd/meterd/core/licensing"
)

// Builds before 2026-12-06 kept a transaction's first answer as the JSON they sent, in the
// provision record and in the state. legacyTransaction reads such an answer back into a
// Transaction, so that those logs still replay and the same externalId still gets its first
// answer (rendered in today's shape: the product's name and license model were not in it, so
// the licensed item stands for the name).
func legacyTransaction(b []byte) (*licensing.Transaction, error) {
	var in struct {
		Transaction struct {
			ID, Type, ExternalID, Processed string
			Items                           []struct {
				ID, ExternalID, ProductID string
				Quantity                  int64
				LicenseValidFrom          string
				LicenseValidUntil         *string
				Licenses                  []struct {
					ID, Owner, LicensedItem string
					UseCountCredits         []struct {
						ID, LicenseTransactionItemID string
						ValidFrom                    string
						ValidUntil                   *string
						Active                       bool
						UseCount, CountUsed          int64
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("%w: first answer of an earlier build: %v", ErrBadRecord, err)
	}
	t := in.Transaction
	processed, err := time.Parse(time.RFC3339Nano, t.Processed)
	if err != nil {
		return nil, fmt.Errorf("%w: first answer of an earlier build: processed %q", ErrBadRecord, t.Processed)
	}
	tx := &licensing.Transaction{ID: t.ID, Type: t.Type, ExternalID: t.ExternalID, Processed: processed.UTC()}
	for _, it := range t.Items {
		w, err := legacyWindow(it.LicenseValidFrom, it.LicenseValidUntil)
		if err != nil || len(it.Licenses) != 1 {
			return nil, fmt.Errorf("%w: first answer of an earlier build: item %s", ErrBadRecord, it.ID)
		}
		l := it.Licenses[0]
		v := licensing.LicenseView{ID: l.ID, Owner: l.Owner, Item: l.LicensedItem, ProductID: it.ProductID,
			ProductName: l.LicensedItem, At: tx.Processed}
		for _, c := range l.UseCountCredits {
			cw, err := legacyWindow(c.ValidFrom, c.ValidUntil)
			if err != nil {
				return nil, fmt.Errorf("%w: first answer of an earlier build: credit %s", ErrBadRecord, c.ID)
			}
			v.Credits = append(v.Credits, licensing.CreditView{ID: c.ID, TransactionItemID: c.LicenseTransactionItemID,
				Window: cw, UseCount: c.UseCount, CountUsed: c.CountUsed, Active: c.Active})
		}
		tx.Items = append(tx.Items, licensing.TransactionItem{ID: it.ID, ExternalID: it.ExternalID, ProductID: it.ProductID,
			Quantity: it.Quantity, Window: w, License: v})
	}
	return tx, nil
}

func legacyWindow(from string, until *string) (licensing.Window, error) {
	f, err := time.Parse(time.RFC3339Nano, from)
	w := licensing.Window{From: f.UTC(), Open: until == nil}
	if err == nil && until != nil {
		var u time.Time
		u, err = time.Parse(time.RFC3339Nano, *until)
		w.Until = u.UTC()
	}
	return w, err
}
