package licensing

import "time"

// Transaction is a license transaction as processed: its first answer, which the same
// externalId with the same order gets again.
type Transaction struct {
	ID, Type, ExternalID string
	Processed            time.Time
	Items                []TransactionItem
}

// TransactionItem is one item of a transaction and the license it credited, as the whole
// transaction left it.
type TransactionItem struct {
	ID, ExternalID, ProductID string
	Quantity                  int64
	Window                    Window
	License                   LicenseView
}
