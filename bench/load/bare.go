package main

import (
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// grantBody has the size and shape of a real grant: a 36-character license id, a 9-digit
// remainder and a 6-digit sequence number.
const grantBody = `{"granted":true,"license":"0534662a-9948-46b7-8518-5166d0efbe17","units":1,"remaining":999999999,"seq":123456}`

// bare is baseline (a): a plain fasthttp server with meterd's timeouts, whose handler answers
// every request with grantBody. It is the most any handler on this HTTP stack can serve here.
// It lacks meterd's streamed request bodies and per-connection deadlines: switched off in the
// agent, those measured 1.01x (bench/results/2026-12-06.md), so the comparison is not skewed.
type bare struct {
	srv    *fasthttp.Server
	base   string
	served chan error
}

func startBare() (*bare, error) {
	body := []byte(grantBody)
	return startBareWith(func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	})
}

// startBareWith starts bare's server with handler h.
func startBareWith(h fasthttp.RequestHandler) (*bare, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &bare{base: "http://" + ln.Addr().String(), served: make(chan error, 1)}
	b.srv = &fasthttp.Server{
		Handler:               h,
		NoDefaultServerHeader: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		CloseOnShutdown:       true,
	}
	go func() { b.served <- b.srv.Serve(ln) }()
	return b, nil
}

func (b *bare) stop() error {
	err := b.srv.Shutdown()
	if serr := <-b.served; err == nil {
		err = serr
	}
	return err
}
