package licensing

import "time"

// LicenseView is one license as the API shows it: what it licenses, the license model of its
// product, and each credit with its counts as of At. The HTTP edge renders it in 10Duke's
// shape; the engine never writes JSON.
type LicenseView struct {
	ID, Owner   string
	Item        string // the licensed item's name
	ProductID   string
	ProductName string
	Mode        TrackingMode
	Credits     []CreditView
	At          time.Time // when the counts were read; Active is as of then
}

// CreditView is one use-count credit of a license.
type CreditView struct {
	ID, TransactionItemID string
	Window                Window
	UseCount, CountUsed   int64
	Active                bool // At lies in Window
}

// Consumed is the license's used units over all its credits.
func (v LicenseView) Consumed() (n int64) {
	for _, c := range v.Credits {
		n += c.CountUsed
	}
	return n
}

// Total is the license's use count over all its credits.
func (v LicenseView) Total() (n int64) {
	for _, c := range v.Credits {
		n += c.UseCount
	}
	return n
}

// Active reports whether any credit is.
func (v LicenseView) Active() bool {
	for _, c := range v.Credits {
		if c.Active {
			return true
		}
	}
	return false
}

// Span is the union of the credits' windows: the earliest start, the latest end, open if any
// credit is; ok is false for a license without credits.
func (v LicenseView) Span() (w Window, ok bool) {
	for i, c := range v.Credits {
		if i == 0 || c.Window.From.Before(w.From) {
			w.From = c.Window.From
		}
		if i == 0 || c.Window.Until.After(w.Until) {
			w.Until = c.Window.Until
		}
		w.Open = w.Open || c.Window.Open
	}
	return w, len(v.Credits) > 0
}
