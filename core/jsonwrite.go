package core

import (
	"math/bits"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced, so that any message or id is safe in a response.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		j := safeEnd(s, i)
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = appendEscaped(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// safeEnd returns the index of the first byte at or after i that appendJSONString cannot
// copy as it is (an escape, a control byte, or any byte of a multi-byte sequence, which is
// checked for valid UTF-8), or len(s).
func safeEnd(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		if m := (jsonSpecial(x) | x) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	return i
}

func appendEscaped(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendAnswer writes a consume answer in the shape DESIGN.md gives.
func appendAnswer(b []byte, a *Answer) []byte {
	return append(appendAnswerFields(append(b, '{'), a), '}')
}

// appendAnswerFields writes the answer's members without braces, for batch results too.
func appendAnswerFields(b []byte, a *Answer) []byte {
	if a.Granted {
		b = append(b, `"granted":true,"license":`...)
		b = appendJSONString(b, a.License)
		b = strconv.AppendInt(append(b, `,"units":`...), a.Units, 10)
		b = strconv.AppendInt(append(b, `,"remaining":`...), a.Remaining, 10)
		return strconv.AppendUint(append(b, `,"seq":`...), a.Seq, 10)
	}
	b = append(b, `"granted":false,"reason":`...)
	b = appendJSONString(b, a.Outcome.String())
	b = appendJSONString(append(b, `,"license":`...), a.License)
	return strconv.AppendInt(append(b, `,"remaining":`...), a.Remaining, 10)
}

// appendError writes {"error": code, "message": msg}.
func appendError(b []byte, code, msg string) []byte {
	b = appendJSONString(append(b, `{"error":`...), code)
	b = appendJSONString(append(b, `,"message":`...), msg)
	return append(b, '}')
}
