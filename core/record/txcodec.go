package record

import (
	"encoding/binary"
	"slices"

	"github.com/meterd/meterd/core/licensing"
)

// A transaction's first answer is kept typed, in the provision record and in the state, so
// that the same externalId gets it again after a restart:
//
//	transaction : id str ‖ type str ‖ externalId str ‖ processed instant
//	              ‖ n uvarint ‖ n × item ‖ m uvarint ‖ m × license
//	  item      : id str ‖ externalId str ‖ productId str ‖ quantity varint ‖ window
//	              ‖ license uvarint (index into the licenses)
//	  license   : id str ‖ owner str ‖ item str ‖ productId str ‖ productName str ‖ mode byte
//	              ‖ at instant ‖ k uvarint ‖ k × credit
//	  credit    : id str ‖ transactionItemId str ‖ window ‖ useCount varint ‖ countUsed varint
//	              ‖ active byte
//
// The items of one license share its view, so each license is written once.

func appendTransaction(b []byte, tx *licensing.Transaction) []byte {
	b = AppendStr(AppendStr(AppendStr(b, tx.ID), tx.Type), tx.ExternalID)
	b = AppendInstant(b, tx.Processed)
	var licenses []*licensing.LicenseView
	index := func(v *licensing.LicenseView) int {
		i := slices.IndexFunc(licenses, func(l *licensing.LicenseView) bool { return l.ID == v.ID })
		if i < 0 {
			i, licenses = len(licenses), append(licenses, v)
		}
		return i
	}
	b = binary.AppendUvarint(b, uint64(len(tx.Items)))
	for i := range tx.Items {
		it := &tx.Items[i]
		b = AppendStr(AppendStr(AppendStr(b, it.ID), it.ExternalID), it.ProductID)
		b = appendWindow(binary.AppendVarint(b, it.Quantity), it.Window)
		b = binary.AppendUvarint(b, uint64(index(&it.License)))
	}
	b = binary.AppendUvarint(b, uint64(len(licenses)))
	for _, l := range licenses {
		b = appendLicenseView(b, l)
	}
	return b
}

func appendLicenseView(b []byte, l *licensing.LicenseView) []byte {
	b = AppendStr(AppendStr(AppendStr(b, l.ID), l.Owner), l.Item)
	b = AppendStr(AppendStr(b, l.ProductID), l.ProductName)
	b = AppendInstant(append(b, byte(l.Mode)), l.At)
	b = binary.AppendUvarint(b, uint64(len(l.Credits)))
	for _, c := range l.Credits {
		b = appendWindow(AppendStr(AppendStr(b, c.ID), c.TransactionItemID), c.Window)
		b = binary.AppendVarint(binary.AppendVarint(b, c.UseCount), c.CountUsed)
		b = AppendBool(b, c.Active)
	}
	return b
}

// transaction reads what appendTransaction wrote, copying every string.
func (r *reader) transaction() *licensing.Transaction {
	tx := &licensing.Transaction{ID: r.str(), Type: r.str(), ExternalID: r.str(), Processed: r.instant()}
	tx.Items = makeSlice[licensing.TransactionItem](r.count(5))
	which := make([]uint64, len(tx.Items))
	for i := range tx.Items {
		tx.Items[i] = licensing.TransactionItem{ID: r.str(), ExternalID: r.str(), ProductID: r.str(),
			Quantity: r.varint(), Window: r.window()}
		which[i] = r.uvarint()
	}
	licenses := makeSlice[licensing.LicenseView](r.count(8))
	for i := range licenses {
		licenses[i] = r.licenseView()
	}
	for i, w := range which {
		if r.err == nil && w >= uint64(len(licenses)) {
			r.fail("transaction item names no license")
			return tx
		}
		if r.err == nil {
			tx.Items[i].License = licenses[w]
		}
	}
	return tx
}

func (r *reader) licenseView() licensing.LicenseView {
	v := licensing.LicenseView{ID: r.str(), Owner: r.str(), Item: r.str(), ProductID: r.str(), ProductName: r.str(),
		Mode: licensing.TrackingMode(r.byte()), At: r.instant()}
	v.Credits = makeSlice[licensing.CreditView](r.count(6))
	for i := range v.Credits {
		v.Credits[i] = licensing.CreditView{ID: r.str(), TransactionItemID: r.str(), Window: r.window(),
			UseCount: r.varint(), CountUsed: r.varint(), Active: r.bool()}
	}
	return v
}

// makeSlice makes n elements, nil for none: what a Transaction built in memory holds.
func makeSlice[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
}
