package client

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

// keySource makes Idempotency-Keys no other client has made: a random prefix per client and a
// counter. Keys are remembered per owner for IDEMPOTENCY_TTL, so a collision would hand one
// call another's answer.
type keySource struct {
	prefix string
	n      atomic.Uint64
}

func newKeySource() *keySource {
	var b [12]byte
	rand.Read(b[:])
	return &keySource{prefix: "mc-" + hex.EncodeToString(b[:]) + "-"}
}

func (k *keySource) next() string {
	return k.prefix + strconv.FormatUint(k.n.Add(1), 36)
}

// keyFor is the key a consume is sent with: the caller's, or, when the call may be retried, a
// new one, so that every attempt carries the same key from the first on.
func (c *Client) keyFor(given string) string {
	if given != "" || c.opt.Attempts == 1 {
		return given
	}
	return c.keys.next()
}
