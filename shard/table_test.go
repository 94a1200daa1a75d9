package shard_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/meterd/meterd/shard"
)

func TestTableZeroValue(t *testing.T) {
	var tb shard.Table
	if got := tb.Get("x"); got != nil {
		t.Fatalf("Get on empty table = %v, want nil", got)
	}
	if got := tb.GetBytes([]byte("x")); got != nil {
		t.Fatalf("GetBytes on empty table = %v, want nil", got)
	}
	if got := tb.Len(); got != 0 {
		t.Fatalf("Len = %d, want 0", got)
	}
}

func TestTablePutGet(t *testing.T) {
	var tb shard.Table
	a, b := shard.NewLicense("a"), shard.NewLicense("b")
	long := "organizations/" + strings.Repeat("7", 36) + "\x00PdfPro" // an alias past the inline size
	tb.Put("a", a)
	tb.Put("b", b)
	tb.Put(long, a)
	tb.Put("", b)
	f := func(key string, want *shard.License) {
		t.Helper()
		if got := tb.Get(key); got != want {
			t.Errorf("Get(%q) = %p, want %p", key, got, want)
		}
		if got := tb.GetBytes([]byte(key)); got != want {
			t.Errorf("GetBytes(%q) = %p, want %p", key, got, want)
		}
	}
	f("a", a)
	f("b", b)
	f(long, a)
	f("", b)
	f("c", nil)
	f(long[:len(long)-1], nil)
	if got := tb.Len(); got != 4 {
		t.Fatalf("Len = %d, want 4", got)
	}
	tb.Put("a", b) // replace: the key now names another license
	f("a", b)
	if got := tb.Len(); got != 4 {
		t.Fatalf("Len after replace = %d, want 4", got)
	}
}

// Put copies the key: a caller may reuse its buffer.
func TestTablePutCopiesKey(t *testing.T) {
	var tb shard.Table
	l := shard.NewLicense("id")
	for _, n := range []int{8, 100} {
		buf := []byte(strings.Repeat("k", n))
		key := string(buf)
		tb.Put(unsafeString(buf), l)
		for i := range buf {
			buf[i] = 'x'
		}
		if got := tb.Get(key); got != l {
			t.Fatalf("%d-byte key lost after its buffer changed", n)
		}
	}
}

func TestTable100k(t *testing.T) {
	var tb shard.Table
	ids := uuids(100_000)
	ls := make([]*shard.License, len(ids))
	for i, id := range ids {
		ls[i] = shard.NewLicense(id)
		tb.Put(id, ls[i])
	}
	if got := tb.Len(); got != len(ids) {
		t.Fatalf("Len = %d, want %d", got, len(ids))
	}
	for i, id := range ids {
		if got := tb.Get(id); got != ls[i] {
			t.Fatalf("Get(%q) = %p, want %p", id, got, ls[i])
		}
	}
	if got := tb.Get(strings.Repeat("0", 36)); got != nil {
		t.Fatalf("Get of an absent key = %p, want nil", got)
	}
}

// Readers run while keys are added and replaced: a key is absent or names
// one of the licenses put under it, never another; once Put returns, Get
// finds it.
func TestTableConcurrent(t *testing.T) {
	var tb shard.Table
	const keys = 5000
	first, second := make([]*shard.License, keys), make([]*shard.License, keys)
	names := make([]string, keys)
	for i := range keys {
		names[i] = fmt.Sprintf("key-%d", i)
		first[i], second[i] = shard.NewLicense(names[i]), shard.NewLicense("other")
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for g := range 4 {
		readers.Go(func() {
			for j := g; ; j = (j + 7) % keys {
				select {
				case <-stop:
					return
				default:
				}
				if got := tb.Get(names[j]); got != nil && got != first[j] && got != second[j] {
					t.Errorf("Get(%q) = a license never put under it", names[j])
					return
				}
			}
		})
	}
	for i := range keys {
		tb.Put(names[i], first[i])
		if tb.Get(names[i]) != first[i] {
			t.Fatalf("Get(%q) right after Put missed", names[i])
		}
		if i%2 == 0 {
			tb.Put(names[i], second[i])
		}
	}
	close(stop)
	readers.Wait()
	if got := tb.Len(); got != keys {
		t.Fatalf("Len = %d, want %d", got, keys)
	}
}

// What SetValue attached before Put comes back with every Get, whichever
// key found the license.
func TestTableValue(t *testing.T) {
	var tb shard.Table
	type record struct{ name string }
	f := func(id string) {
		t.Helper()
		rec := &record{id}
		l := shard.NewLicense(id)
		l.SetValue(rec)
		tb.Put(id, l)
		tb.Put("users/u\x00"+id, l)
		for _, key := range []string{id, "users/u\x00" + id} {
			if got, ok := tb.Get(key).Value().(*record); !ok || got != rec {
				t.Errorf("Get(%q).Value() = %v, want %v", key, got, rec)
			}
		}
	}
	f(tb.NewID())
	f("6f1c2b7e-0d3a-4c55-9a8e-2b9d41f0c3aa")
	f("short")
}
