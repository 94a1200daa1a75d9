package main

import (
	"bytes"
	"io"
	"sync"
)

// strayLog counts the answers Go's HTTP client received on a connection with no request in
// flight: net/http reports each with log.Printf("Unsolicited response received on idle HTTP
// channel ..."). A server that answers a request nobody sent can hand that answer to the next
// request on the connection, so the soak counts them as failures. Everything else passes
// through to out.
type strayLog struct {
	out   io.Writer
	mu    sync.Mutex
	n     int
	first string
}

var unsolicited = []byte("Unsolicited response received on idle HTTP channel")

func (s *strayLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, unsolicited) {
		s.mu.Lock()
		if s.n++; s.n == 1 {
			s.first = string(bytes.TrimSpace(p))
		}
		s.mu.Unlock()
	}
	return s.out.Write(p)
}

func (s *strayLog) count() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.first
}
