package export

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"slices"
	"strings"
)

const macSize = sha256.Size

type mac = [macSize]byte

// metaDomain starts the meta_mac input so it can never be read as a row MAC
// input (which starts with a 32-byte MAC) or as an agent_id.
const metaDomain = "meterd usage meta v1\x00"

// signer computes the MACs of one database with one HMAC, reset per use:
// building an HMAC hashes the key pads, which would cost as much again as
// the row itself on the export path. Not safe for concurrent use.
type signer struct {
	h   hash.Hash
	buf []byte // the MAC input being built
	out []byte // Sum's result; an array on the stack would escape through the interface
}

func newSigner(key []byte) *signer {
	return &signer{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 512), out: make([]byte, 0, macSize)}
}

func (s *signer) sum(b []byte) mac {
	s.h.Reset()
	s.h.Write(b)
	return s.finish()
}

func (s *signer) finish() (m mac) {
	s.out = s.h.Sum(s.out[:0])
	copy(m[:], s.out)
	return m
}

// start is the MAC the first row chains from: HMAC(key, agent_id), so rows
// spliced in from another agent's file (same key) break at once.
func (s *signer) start(agentID string) mac {
	s.buf = append(s.buf[:0], agentID...)
	return s.sum(s.buf)
}

// row returns HMAC(key, prev ‖ canon(r)).
func (s *signer) row(prev *mac, r *row) mac {
	s.buf = appendCanon(append(s.buf[:0], prev[:]...), r)
	return s.sum(s.buf)
}

// metaEntry is one meta row. Keys are always text (Verify rejects others
// before it gets here); values are encoded with their type.
type metaEntry struct {
	key string
	val value
}

// meta returns meta_mac: HMAC(key, metaDomain ‖ for each entry but meta_mac,
// sorted by key: canon(key) ‖ canon(value)). Every row takes part, so an
// added, removed or changed meta row breaks it.
func (s *signer) meta(entries []metaEntry) mac {
	slices.SortFunc(entries, func(a, b metaEntry) int { return strings.Compare(a.key, b.key) })
	s.buf = append(s.buf[:0], metaDomain...)
	for _, e := range entries {
		if e.key == metaMAC {
			continue
		}
		s.buf = appendValue(s.buf, textValue(e.key))
		s.buf = appendValue(s.buf, e.val)
	}
	return s.sum(s.buf)
}

func macEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
