package main

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestAppendCommand(t *testing.T) {
	got := string(appendCommand(nil, "EVALSHA", "abc", "1", "balance:0", ""))
	want := "*5\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n1\r\n$9\r\nbalance:0\r\n$0\r\n\r\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = string(appendBulkInt(appendArrayHeader(nil, 1), -42))
	if want := "*1\r\n$3\r\n-42\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func read(s string) (reply, error) {
	return readReply(bufio.NewReader(strings.NewReader(s)))
}

func TestReadReply(t *testing.T) {
	f := func(in string, want reply) {
		t.Helper()
		got, err := read(in)
		if err != nil {
			t.Fatalf("read %q: %v", in, err)
		}
		if !reflect.DeepEqual(normal(got), normal(want)) {
			t.Fatalf("read %q: got %+v, want %+v", in, got, want)
		}
	}
	f("+OK\r\n", reply{kind: '+', str: []byte("OK")})
	f("+\r\n", reply{kind: '+', str: []byte{}})
	f("-ERR unknown command\r\n", reply{kind: '-', str: []byte("ERR unknown command")})
	f(":1000\r\n", reply{kind: ':', num: 1000})
	f(":-1\r\n", reply{kind: ':', num: -1})
	f("$5\r\nhe\r\no\r\n", reply{kind: '$', str: []byte("he\r\no")})
	f("$0\r\n\r\n", reply{kind: '$', str: []byte{}})
	f("$-1\r\n", reply{kind: '$', null: true})
	f("*-1\r\n", reply{kind: '*', null: true})
	f("*0\r\n", reply{kind: '*', elems: []reply{}})
	f("*2\r\n:1\r\n*1\r\n$1\r\nx\r\n", reply{kind: '*', elems: []reply{
		{kind: ':', num: 1}, {kind: '*', elems: []reply{{kind: '$', str: []byte("x")}}}}})
}

func TestReadReplyErrors(t *testing.T) {
	f := func(in string, want error) {
		t.Helper()
		_, err := read(in)
		if !errors.Is(err, want) {
			t.Fatalf("read %q: got %v, want %v", in, err, want)
		}
	}
	f("", io.ErrUnexpectedEOF)
	f("+OK", io.ErrUnexpectedEOF)
	f("$5\r\nhel", io.ErrUnexpectedEOF)
	f("*2\r\n:1\r\n", io.ErrUnexpectedEOF)
	f("?x\r\n", ErrProtocol)
	f("+OK\n", ErrProtocol)
	f(":12a\r\n", ErrProtocol)
	f(":\r\n", ErrProtocol)
	f(":99999999999999999999\r\n", ErrProtocol)
	f(":9223372036854775808\r\n", ErrProtocol)
	f("$-2\r\n", ErrProtocol)
	f("$3\r\nabcde\r\n", ErrProtocol)
	f("$"+strconv.Itoa(maxBulk+1)+"\r\n", ErrProtocol)
	f(strings.Repeat("*1\r\n", maxDepth+1)+":1\r\n", ErrProtocol)
}

func TestReadInt(t *testing.T) {
	r := bufio.NewReader(strings.NewReader(":42\r\n:-1\r\n-NOSCRIPT No matching script\r\n+OK\r\n"))
	if n, err := readInt(r); n != 42 || err != nil {
		t.Fatalf("got %d, %v; want 42", n, err)
	}
	if n, err := readInt(r); n != -1 || err != nil {
		t.Fatalf("got %d, %v; want -1", n, err)
	}
	var rerr *RedisError
	if _, err := readInt(r); !errors.As(err, &rerr) || rerr.Msg != "NOSCRIPT No matching script" {
		t.Fatalf("got %v, want the NOSCRIPT error reply", err)
	}
	if _, err := readInt(r); !errors.Is(err, ErrProtocol) {
		t.Fatalf("got %v, want ErrProtocol for a simple string", err)
	}
}

// The consume script's answer is read without allocating, as the load loop needs.
func TestReadIntAllocs(t *testing.T) {
	in := strings.Repeat(":999999\r\n", 2000)
	r := bufio.NewReader(strings.NewReader(in))
	if n := testing.AllocsPerRun(1000, func() { readInt(r) }); n != 0 {
		t.Fatalf("%v allocations per integer reply, want 0", n)
	}
}

// encode writes v back as RESP, to check that what readReply decodes round-trips.
func encode(b []byte, v reply) []byte {
	b = append(b, v.kind)
	switch {
	case v.null:
		return append(b, "-1\r\n"...)
	case v.kind == ':':
		return append(strconv.AppendInt(b, v.num, 10), '\r', '\n')
	case v.kind == '$':
		return append(append(append(strconv.AppendInt(b, int64(len(v.str)), 10), '\r', '\n'), v.str...), '\r', '\n')
	case v.kind == '*':
		b = append(strconv.AppendInt(b, int64(len(v.elems)), 10), '\r', '\n')
		for _, e := range v.elems {
			b = encode(b, e)
		}
		return b
	}
	return append(append(b, v.str...), '\r', '\n')
}

// Any input either fails with an error or decodes to a value that encodes and decodes to
// itself.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "-ERR x\r\n", ":-7\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n:1\r\n$1\r\nx\r\n", "*1\r\n*1\r\n*0\r\n", "$2\r\nab", ":1a\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := read(string(in))
		if err != nil {
			return
		}
		again, err := read(string(encode(nil, v)))
		if err != nil {
			t.Fatalf("re-read of %q: %v", encode(nil, v), err)
		}
		if !reflect.DeepEqual(normal(again), normal(v)) {
			t.Fatalf("round trip: got %+v, want %+v", again, v)
		}
	})
}

// normal makes empty and nil slices compare equal.
func normal(v reply) reply {
	if len(v.str) == 0 {
		v.str = nil
	}
	if len(v.elems) == 0 {
		v.elems = nil
	}
	for i := range v.elems {
		v.elems[i] = normal(v.elems[i])
	}
	return v
}
