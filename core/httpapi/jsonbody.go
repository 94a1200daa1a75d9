package httpapi

import (
	"unicode/utf8"
	"unsafe"

	"github.com/meterd/meterd/core"
)

// The consume and checkin bodies are flat JSON objects of strings and one integer. They are
// scanned here in place, without allocating: escapes are decoded into the body buffer itself
// (a decoded string is never longer than its escaped form) and the fields are strings that
// alias it, valid while the request is handled. encoding/json would allocate for every
// field, on the path that runs for every decision.

// bodyField names a field the scanner knows.
type bodyField uint8

const (
	fieldOwner bodyField = iota
	fieldItem
	fieldLicense
	fieldUnits
	fieldSession
	fieldUser
	fieldHost
	fieldIP
	fieldIdemKey // batch items carry their Idempotency-Key in the body
	numFields
)

var fieldNames = [numFields]string{"owner", "item", "license", "units", "session", "user", "host", "ip", "idempotencyKey"}

// flatBody holds the fields of one body; unset fields are empty strings and units 0.
type flatBody struct {
	str   [numFields]string
	units int64
	seen  [numFields]bool
}

// parseFlatBody scans body into fb. allowed says which fields the endpoint takes.
func parseFlatBody(body []byte, fb *flatBody, allowed *[numFields]bool) error {
	s := scanner{b: body}
	s.ws()
	if err := s.object(fb, allowed); err != nil {
		return err
	}
	return s.end()
}

// object scans one flat object at s.pos.
func (s *scanner) object(fb *flatBody, allowed *[numFields]bool) error {
	if !s.eat('{') {
		return invalidf("body: want a JSON object at byte %d", s.pos)
	}
	s.ws()
	if s.eat('}') {
		return nil
	}
	for {
		if err := s.member(fb, allowed); err != nil {
			return err
		}
		s.ws()
		if s.eat('}') {
			return nil
		}
		if !s.eat(',') {
			return s.syntax("',' or '}'")
		}
		s.ws()
	}
}

// parseBatchBody scans {"requests": [object, ...]} and calls item for each object, at most
// max of them.
func parseBatchBody(body []byte, max int, item func(fb *flatBody) error) error {
	s := scanner{b: body}
	s.ws()
	if !s.eat('{') {
		return invalidf("body must be a JSON object")
	}
	s.ws()
	if key, err := s.str(); err != nil || key != "requests" {
		return invalidf(`body: want {"requests": [...]}`)
	}
	s.ws()
	if !s.eat(':') {
		return s.syntax("':'")
	}
	s.ws()
	if !s.eat('[') {
		return invalidf(`body: "requests" must be an array`)
	}
	if err := s.elements(max, item); err != nil {
		return err
	}
	s.ws()
	if !s.eat('}') {
		return s.syntax("'}'")
	}
	return s.end()
}

// elements scans the objects of an array whose '[' was eaten, through its ']'.
func (s *scanner) elements(max int, item func(fb *flatBody) error) error {
	s.ws()
	if s.eat(']') {
		return nil
	}
	var fb flatBody // one for the batch: item's func value makes it escape
	for n := 1; ; n++ {
		if n > max {
			return invalidf("a batch takes at most %d requests", max)
		}
		fb = flatBody{}
		if err := s.object(&fb, &batchFields); err != nil {
			return err
		}
		if err := item(&fb); err != nil {
			return err
		}
		s.ws()
		if s.eat(']') {
			return nil
		}
		if !s.eat(',') {
			return s.syntax("',' or ']'")
		}
		s.ws()
	}
}

type scanner struct {
	b   []byte
	pos int
}

func (s *scanner) ws() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.pos < len(s.b) && s.b[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.b) {
		return invalidf("body: unexpected data after the JSON object")
	}
	return nil
}

func (s *scanner) syntax(want string) error {
	if s.pos >= len(s.b) {
		return invalidf("body: unexpected end of JSON, want %s", want)
	}
	return invalidf("body: invalid JSON at byte %d, want %s", s.pos, want)
}

// member scans `"key": value`.
func (s *scanner) member(fb *flatBody, allowed *[numFields]bool) error {
	key, err := s.str()
	if err != nil {
		return err
	}
	f := lookupField(key)
	if f == numFields || !allowed[f] {
		return invalidf("body: unknown field %q", key)
	}
	if fb.seen[f] {
		return invalidf("body: field %q given twice", key)
	}
	fb.seen[f] = true
	s.ws()
	if !s.eat(':') {
		return s.syntax("':'")
	}
	s.ws()
	if s.null() {
		return nil
	}
	if f == fieldUnits {
		fb.units, err = s.units()
		return err
	}
	if s.pos >= len(s.b) || s.b[s.pos] != '"' {
		return invalidf("body: field %q must be a string", fieldNames[f])
	}
	fb.str[f], err = s.str()
	return err
}

func lookupField(key string) bodyField {
	for f, n := range fieldNames {
		if n == key {
			return bodyField(f)
		}
	}
	return numFields
}

func (s *scanner) null() bool {
	if len(s.b)-s.pos >= 4 && string(s.b[s.pos:s.pos+4]) == "null" {
		s.pos += 4
		return true
	}
	return false
}

// badUnits marks a units value that is a number but not a whole number from 1 to core.MaxUnits;
// checkConsume turns it into a 400 for its request alone (a batch answers the others).
const badUnits = -1

// units scans a JSON number; anything but a whole number from 1 to core.MaxUnits is badUnits.
func (s *scanner) units() (int64, error) {
	start := s.pos
	neg := s.eat('-')
	var n int64
	digits := 0
	for ; s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9'; s.pos++ {
		if n <= core.MaxUnits {
			n = n*10 + int64(s.b[s.pos]-'0')
		}
		digits++
	}
	if digits == 0 {
		return 0, invalidf("body: field \"units\" must be a number")
	}
	if digits > 1 && s.b[start+b2i(neg)] == '0' {
		return 0, invalidf("body: invalid JSON number (leading zero)")
	}
	whole, err := s.fraction()
	if err != nil {
		return 0, err
	}
	if !whole || neg || n < 1 || n > core.MaxUnits {
		return badUnits, nil
	}
	return n, nil
}

// fraction scans a number's optional fraction and exponent and reports whether there was none.
func (s *scanner) fraction() (bool, error) {
	whole := true
	if s.eat('.') {
		whole = false
		if !s.digits() {
			return false, s.syntax("a digit")
		}
	}
	if s.eat('e') || s.eat('E') {
		whole = false
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return false, s.syntax("a digit")
		}
	}
	return whole, nil
}

func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// str scans a JSON string at s.pos, decoding escapes in place, and returns it as a string
// aliasing the buffer.
func (s *scanner) str() (string, error) {
	if !s.eat('"') {
		return "", s.syntax("a string")
	}
	start := s.pos
	// Most strings hold no escape: find their end without copying.
	s.pos = plainEnd(s.b, s.pos, false)
	if s.pos < len(s.b) && s.b[s.pos] == '"' {
		s.pos++
		return bytesString(s.b[start : s.pos-1]), nil
	}
	w := s.pos
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		switch {
		case c == '"':
			s.pos++
			return bytesString(s.b[start:w]), nil
		case c == '\\':
			n, err := s.escape(w)
			if err != nil {
				return "", err
			}
			w += n
		case c < 0x20:
			return "", invalidf("body: control character in a string at byte %d", s.pos)
		default:
			s.b[w] = c
			s.pos++
			w++
		}
	}
	return "", s.syntax("'\"'")
}

// escape decodes the escape at s.pos into s.b[w:] and returns the bytes written.
func (s *scanner) escape(w int) (int, error) {
	if s.pos+1 >= len(s.b) {
		return 0, s.syntax("an escape")
	}
	c := s.b[s.pos+1]
	if dec, ok := simpleEscape(c); ok {
		s.b[w] = dec
		s.pos += 2
		return 1, nil
	}
	if c != 'u' {
		return 0, invalidf("body: invalid escape \\%c at byte %d", c, s.pos)
	}
	r, ok := s.hex4(s.pos + 2)
	if !ok {
		return 0, invalidf("body: invalid \\u escape at byte %d", s.pos)
	}
	s.pos += 6
	if utf16IsHigh(r) {
		if lo, ok := s.lowSurrogate(); ok {
			r = (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000
		} else {
			r = utf8.RuneError
		}
	} else if r >= 0xdc00 && r <= 0xdfff {
		r = utf8.RuneError
	}
	return utf8.EncodeRune(s.b[w:], r), nil
}

func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

func utf16IsHigh(r rune) bool { return r >= 0xd800 && r <= 0xdbff }

// lowSurrogate consumes a following \uDC00-\uDFFF escape.
func (s *scanner) lowSurrogate() (rune, bool) {
	if len(s.b)-s.pos < 6 || s.b[s.pos] != '\\' || s.b[s.pos+1] != 'u' {
		return 0, false
	}
	lo, ok := s.hex4(s.pos + 2)
	if !ok || lo < 0xdc00 || lo > 0xdfff {
		return 0, false
	}
	s.pos += 6
	return lo, true
}

func (s *scanner) hex4(at int) (rune, bool) {
	if len(s.b)-at < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[at : at+4] {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// bytesString aliases b as a string; b must not change while the string is used.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
