package httpapi

import (
	"strings"
	"testing"

	"github.com/meterd/meterd/core/config"
)

func TestHostSet(t *testing.T) {
	s := newHostSet([]string{"localhost", "127.0.0.1", "::1", "agent.internal"})
	host := func(h string, want bool) {
		t.Helper()
		if got := s.allowsHost([]byte(h)); got != want {
			t.Errorf("Host %q: allowed %v, want %v", h, got, want)
		}
	}
	host("localhost", true)
	host("LocalHost:8787", true)
	host("127.0.0.1:8787", true)
	host("[::1]:8787", true)
	host("[::1]", true)
	host("agent.internal:1", true)
	host("", false)
	host("evil.example", false)
	host("evil.example:8787", false)
	host("localhost.evil.example", false)
	host("127.0.0.1.nip.io", false)
	host("::1", false)        // IPv6 only in brackets
	host("[::1", false)       // unclosed
	host("[::1]x", false)     // junk after the bracket
	host("localhost:", false) // empty port
	host("localhost:80a", false)
	host("localhost:123456", false)
	host("localhost:80:80", false)
	host("user@localhost", false)
	host(":8787", false)

	origin := func(o string, want bool) {
		t.Helper()
		if got := s.allowsOrigin([]byte(o)); got != want {
			t.Errorf("Origin %q: allowed %v, want %v", o, got, want)
		}
	}
	origin("http://localhost:3000", true)
	origin("https://127.0.0.1", true)
	origin("http://[::1]:8787", true)
	origin("http://evil.example", false)
	origin("http://evil.example:8787", false)
	origin("null", false)
	origin("", false)
	origin("localhost", false)
	origin("http://localhost/path", false)
	origin("http://user@localhost", false)
}

func TestAllowedHostList(t *testing.T) {
	f := func(listen, set, want string) {
		t.Helper()
		c := config.Default()
		c.Listen = listen
		if set != "" {
			if err := c.Set("ALLOWED_HOSTS", set); err != nil {
				t.Fatalf("%q: %v", set, err)
			}
		}
		if got := strings.Join(c.AllowedHostList(), ","); got != want {
			t.Errorf("LISTEN %s, ALLOWED_HOSTS %q: got %q, want %q", listen, set, got, want)
		}
	}
	f("127.0.0.1:8787", "", "localhost,127.0.0.1,::1")
	f("[::1]:8787", "", "localhost,127.0.0.1,::1")
	f("10.0.0.5:8787", "", "localhost,127.0.0.1,::1,10.0.0.5")
	f("Agent.Internal:8787", "", "localhost,127.0.0.1,::1,agent.internal")
	f("[fe80:0::1]:8787", "", "localhost,127.0.0.1,::1,fe80::1")
	f("0.0.0.0:8787", "", "localhost,127.0.0.1,::1")
	f("[::]:8787", "", "localhost,127.0.0.1,::1")
	f(":8787", "", "localhost,127.0.0.1,::1")
	// A list that is set is the whole list.
	f("10.0.0.5:8787", " Agent.Internal , [0:0::1] ", "agent.internal,::1")

	for _, bad := range []string{"", "localhost,", "*.example", "local host", "[::1", "fe80::1%eth0", "a/b", "1:2"} {
		c := config.Default()
		if err := c.Set("ALLOWED_HOSTS", bad); err == nil {
			t.Errorf("ALLOWED_HOSTS %q: no error", bad)
		}
	}
}
