package httpapi

import (
	"strconv"
	"unicode/utf8"

	"github.com/meterd/meterd/core"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced, so that any message or id is safe in a response.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		j := plainEnd(s, i, true)
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

// appendAnswer writes a consume answer in the shape API.md gives.
func appendAnswer(b []byte, a *core.Answer) []byte {
	return append(appendAnswerFields(append(b, '{'), a), '}')
}

// appendAnswerFields writes the answer's members without braces, for batch results too.
func appendAnswerFields(b []byte, a *core.Answer) []byte {
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
