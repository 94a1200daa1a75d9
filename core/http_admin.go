package core

import (
	"encoding/json"
	"net/http"

	"github.com/valyala/fasthttp"
)

// product serves GET and PUT /products/{id}.
func (s *Server) product(ctx *fasthttp.RequestCtx, req []byte) {
	id := string(ctx.Path()[len("/products/"):])
	var (
		p   Product
		err error
	)
	if ctx.IsPut() {
		p, err = s.e.PutProductSigned(id, req, vendorSignature(ctx))
	} else {
		p, err = s.e.Product(id)
	}
	if err != nil {
		s.fail(ctx, err)
		return
	}
	body, err := json.Marshal(p)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	writeJSON(ctx, http.StatusOK, body)
}

// transaction serves POST /{organizations|users}/{id}/license-transactions.
func (s *Server) transaction(ctx *fasthttp.RequestCtx, owner string, req []byte) {
	body, err := s.e.ProvisionSigned(owner, req, vendorSignature(ctx))
	if err != nil {
		s.fail(ctx, err)
		return
	}
	writeJSON(ctx, http.StatusOK, body)
}

// ownerLicenses serves GET /{organizations|users}/{id}/licenses.
func (s *Server) ownerLicenses(ctx *fasthttp.RequestCtx, owner string) {
	body, err := s.e.OwnerLicenses(owner)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	writeJSON(ctx, http.StatusOK, body)
}
