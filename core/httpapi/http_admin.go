package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/meterd/meterd/core"
	"github.com/valyala/fasthttp"
)

// product serves GET and PUT /products/{id}.
func (s *Server) product(ctx *fasthttp.RequestCtx, req []byte) {
	id := string(ctx.Path()[len("/products/"):])
	var (
		p   core.Product
		err error
	)
	if ctx.IsPut() {
		p, err = s.putProduct(ctx, id, req)
	} else {
		p, err = s.e.Product(id)
	}
	if err != nil {
		s.fail(ctx, err)
		return
	}
	s.writeDoc(ctx, productDoc(p))
}

func (s *Server) putProduct(ctx *fasthttp.RequestCtx, id string, req []byte) (core.Product, error) {
	signed := core.Signed{Signature: vendorSignature(ctx), Body: req}
	if err := s.e.CheckProductSignature(id, signed); err != nil {
		return core.Product{}, err // before the body is read: a refusal says so whatever it holds
	}
	var body productRequest
	if err := decodeStrict(req, &body); err != nil {
		return core.Product{}, err
	}
	spec, err := body.spec()
	if err != nil {
		return core.Product{}, err
	}
	return s.e.PutProduct(id, spec, signed)
}

// transaction serves POST /{organizations|users}/{id}/license-transactions.
func (s *Server) transaction(ctx *fasthttp.RequestCtx, owner string, req []byte) {
	signed := core.Signed{Signature: vendorSignature(ctx), Body: req}
	if err := s.e.CheckOrderSignature(owner, signed); err != nil {
		s.fail(ctx, err) // before the body is read: a refusal says so whatever it holds
		return
	}
	var body orderRequest
	err := decodeStrict(req, &body)
	var order core.Order
	if err == nil {
		order, err = body.order()
	}
	if err != nil {
		s.fail(ctx, err)
		return
	}
	tx, err := s.e.Provision(owner, order, signed)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	s.writeDoc(ctx, transactionDoc(&tx))
}

// ownerLicenses serves GET /{organizations|users}/{id}/licenses.
func (s *Server) ownerLicenses(ctx *fasthttp.RequestCtx, owner string) {
	ls, err := s.e.OwnerLicenses(owner)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	out := struct {
		Licenses []licenseJSON `json:"licenses"`
	}{make([]licenseJSON, len(ls))}
	for i := range ls {
		out.Licenses[i] = licenseDoc(&ls[i])
	}
	s.writeDoc(ctx, out)
}

// writeDoc answers 200 with v as JSON.
func (s *Server) writeDoc(ctx *fasthttp.RequestCtx, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	writeJSON(ctx, http.StatusOK, body)
}

// vendorSignature is the request's Meterd-Signature header value, "" when absent.
func vendorSignature(ctx *fasthttp.RequestCtx) string {
	return string(ctx.Request.Header.Peek(core.SignatureHeader))
}
