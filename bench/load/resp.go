package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A minimal RESP2 codec (the Redis protocol), enough to load a script and call it: commands
// are arrays of bulk strings; replies are read in full, nested arrays included.

// ErrProtocol is a reply that is not valid RESP.
var ErrProtocol = errors.New("resp: protocol error")

// Bounds that keep a corrupt reply from exhausting memory; this client reads nothing larger
// than a script's SHA and INFO's text.
const (
	maxBulk     = 1 << 20
	maxElements = 1 << 20
	maxDepth    = 16
)

// RedisError is an error reply ("-ERR …").
type RedisError struct{ Msg string }

func (e *RedisError) Error() string { return "redis: " + e.Msg }

// reply is one decoded RESP value.
type reply struct {
	kind  byte   // '+' simple string, '-' error, ':' integer, '$' bulk string, '*' array
	null  bool   // a null bulk string or array ($-1, *-1)
	str   []byte // '+', '-', '$'
	num   int64  // ':'
	elems []reply
}

// appendArrayHeader starts a command of n arguments.
func appendArrayHeader(b []byte, n int) []byte {
	return append(strconv.AppendInt(append(b, '*'), int64(n), 10), '\r', '\n')
}

// appendBulk appends one argument.
func appendBulk(b []byte, s []byte) []byte {
	b = append(strconv.AppendInt(append(b, '$'), int64(len(s)), 10), '\r', '\n')
	return append(append(b, s...), '\r', '\n')
}

func appendBulkString(b []byte, s string) []byte {
	b = append(strconv.AppendInt(append(b, '$'), int64(len(s)), 10), '\r', '\n')
	return append(append(b, s...), '\r', '\n')
}

// appendBulkInt appends an integer argument, as Redis takes numbers: in decimal.
func appendBulkInt(b []byte, n int64) []byte {
	var d [20]byte
	return appendBulk(b, strconv.AppendInt(d[:0], n, 10))
}

// appendCommand appends a whole command.
func appendCommand(b []byte, args ...string) []byte {
	b = appendArrayHeader(b, len(args))
	for _, a := range args {
		b = appendBulkString(b, a)
	}
	return b
}

// readInt reads one reply that must be an integer, without allocating: the hot path of the
// consume script. An error reply comes back as *RedisError.
func readInt(r *bufio.Reader) (int64, error) {
	line, err := readLine(r)
	if err != nil {
		return 0, err
	}
	switch line[0] {
	case ':':
		return parseInt(line[1:])
	case '-':
		return 0, &RedisError{Msg: string(line[1:])}
	}
	return 0, fmt.Errorf("%w: want an integer reply, got %q", ErrProtocol, line)
}

// readReply reads one complete reply of any kind.
func readReply(r *bufio.Reader) (reply, error) { return readValue(r, 0) }

func readValue(r *bufio.Reader, depth int) (reply, error) {
	line, err := readLine(r)
	if err != nil {
		return reply{}, err
	}
	v := reply{kind: line[0]}
	switch v.kind {
	case '+', '-':
		v.str = append([]byte(nil), line[1:]...)
	case ':':
		v.num, err = parseInt(line[1:])
	case '$':
		v.str, v.null, err = readBulk(r, line[1:])
	case '*':
		v.elems, v.null, err = readArray(r, line[1:], depth)
	default:
		err = fmt.Errorf("%w: unknown reply type %q", ErrProtocol, line[0])
	}
	return v, err
}

func readBulk(r *bufio.Reader, head []byte) ([]byte, bool, error) {
	n, err := parseLen(head, maxBulk)
	if err != nil || n < 0 {
		return nil, n < 0, err
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, false, unexpectedEOF(err)
	}
	if b[n] != '\r' || b[n+1] != '\n' {
		return nil, false, fmt.Errorf("%w: bulk string not ended by CRLF", ErrProtocol)
	}
	return b[:n], false, nil
}

func readArray(r *bufio.Reader, head []byte, depth int) ([]reply, bool, error) {
	n, err := parseLen(head, maxElements)
	if err != nil || n < 0 {
		return nil, n < 0, err
	}
	if depth >= maxDepth {
		return nil, false, fmt.Errorf("%w: arrays nested deeper than %d", ErrProtocol, maxDepth)
	}
	elems := make([]reply, 0, min(n, 1024))
	for range n {
		v, err := readValue(r, depth+1)
		if err != nil {
			return nil, false, err
		}
		elems = append(elems, v)
	}
	return elems, false, nil
}

// readLine returns one CRLF-terminated line without its CRLF; it aliases r's buffer.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, r.Size())
		}
		return nil, unexpectedEOF(err)
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: malformed line %q", ErrProtocol, line)
	}
	return line[:len(line)-2], nil
}

// parseLen reads the length of a bulk string or array: -1 (null) or 0 to limit.
func parseLen(b []byte, limit int64) (int, error) {
	n, err := parseInt(b)
	if err != nil {
		return 0, err
	}
	if n < -1 || n > limit {
		return 0, fmt.Errorf("%w: length %d out of range", ErrProtocol, n)
	}
	return int(n), nil
}

// parseInt parses a signed decimal without allocating.
func parseInt(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, fmt.Errorf("%w: bad integer", ErrProtocol)
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: bad integer", ErrProtocol)
		}
		n = n*10 + int64(c-'0')
	}
	if n < 0 {
		return 0, fmt.Errorf("%w: integer overflows", ErrProtocol)
	}
	if neg {
		return -n, nil
	}
	return n, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
