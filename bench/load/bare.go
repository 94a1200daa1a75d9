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
// every request with grantBody. It is the most any handler on this HTTP stack can serve here,
// as fasthttp comes. It lacks what meterd's connection adds: streamed request bodies and the
// body deadline, which cost meterd 1.01x when switched off, and the deadlines armed only when
// a read needs them, which save meterd part of the 1.04x of 4c338bc
// (bench/results/2026-12-06.md).
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

// recordSize is about a consume record as meterd's WAL frames it.
const recordSize = 120

// zeroRecord is what rows (h) to (k) log before each answer. Nothing writes to it, so every
// handler shares it and none builds a record per request.
var zeroRecord [recordSize]byte

// loggingHandler answers as bare's handler does, once log has taken zeroRecord: rows (h) to
// (k), each with its own log.
func loggingHandler(log func(rec []byte) error) fasthttp.RequestHandler {
	body := []byte(grantBody)
	return func(ctx *fasthttp.RequestCtx) {
		if err := log(zeroRecord[:]); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusServiceUnavailable)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
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
