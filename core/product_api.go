package core

import "github.com/meterd/meterd/core/record"

// PutProduct creates or replaces a product and returns it as stored. Licenses already
// provisioned follow its new tracking mode and credit amount; its licensed item cannot change
// once licenses exist, because they are keyed by it.
//
// With VENDOR_PUBLIC_KEY_FILE set, anything but the vendor's signature over PUT
// /products/<id> and signed.Body fails with ErrBadSignature and changes nothing: a product's
// credit amount sets what each session costs and each order grants, so it is the vendor's to
// set. The caller vouches that spec is what signed.Body says.
func (e *Engine) PutProduct(id string, spec ProductSpec, signed Signed) (Product, error) {
	if !e.enter() {
		return Product{}, ErrClosed
	}
	defer e.exit()
	if _, err := e.vendorKey.CheckProduct(id, signed); err != nil {
		return Product{}, err
	}
	p, err := spec.Product(id)
	if err != nil {
		return Product{}, err
	}
	if e.pool != nil {
		return e.putPooledProduct(p)
	}
	e.provMu.Lock()
	defer e.provMu.Unlock()
	ref := e.products[id]
	if ref != nil {
		old := *ref.p.Load()
		if old == p {
			return p, nil
		}
		if old.LicensedItem != p.LicensedItem && e.productInUse(id) {
			return Product{}, conflictf("product %s has licenses for item %q; its licensedItem cannot change", id, old.LicensedItem)
		}
	}
	rec := record.Product{Time: e.nowNS(), Product: p}
	if _, err := e.appendRecord(rec.AppendTo(nil)); err != nil {
		return Product{}, err
	}
	e.installProduct(p)
	return p, nil
}

// Product returns a product by id.
func (e *Engine) Product(id string) (Product, error) {
	e.provMu.RLock()
	defer e.provMu.RUnlock()
	if ref := e.products[id]; ref != nil {
		return *ref.p.Load(), nil
	}
	return Product{}, notFoundf("no product %q", id)
}

// installProduct makes p live; provMu is held (or recovery runs alone).
func (e *Engine) installProduct(p Product) {
	ref := e.products[p.ID]
	if ref == nil {
		ref = new(productRef)
		e.products[p.ID] = ref
	}
	ref.p.Store(&p)
}

func (e *Engine) productInUse(id string) bool {
	ref := e.products[id]
	for _, ls := range e.byOwner {
		for _, l := range ls {
			if l.product == ref {
				return true
			}
		}
	}
	return false
}
