package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// DefaultAllowedHosts are the loopback names every agent answers to; ALLOWED_HOSTS left
// unset adds LISTEN's host to them.
const DefaultAllowedHosts = "localhost,127.0.0.1,::1"

// AllowedHostList is the effective ALLOWED_HOSTS: the configured list, or the loopback names
// and LISTEN's host (unless that is a wildcard address, which no client names).
func (c *Config) AllowedHostList() []string {
	if c.AllowedHosts != "" {
		return strings.Split(c.AllowedHosts, ",")
	}
	names := strings.Split(DefaultAllowedHosts, ",")
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil || host == "" {
		return names
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
		return names
	}
	if h, err := canonicalHost(host); err == nil && !contains(names, h) {
		names = append(names, h)
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseHostList reads ALLOWED_HOSTS into its canonical spelling: names in lower case,
// separated by single commas, IPv6 addresses without brackets in their shortest form.
func parseHostList(v string) (string, error) {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		h, err := canonicalHost(strings.TrimSpace(p))
		if err != nil {
			return "", err
		}
		parts[i] = h
	}
	return strings.Join(parts, ","), nil
}

// canonicalHost accepts a DNS name, an IPv4 address or an IPv6 address (brackets optional,
// no zone): what a client can put in the Host header.
func canonicalHost(h string) (string, error) {
	h = strings.ToLower(h)
	if inner, ok := strings.CutPrefix(h, "["); ok {
		h, ok = strings.CutSuffix(inner, "]")
		if !ok {
			return "", fmt.Errorf("host %q: missing ']'", "["+inner)
		}
	}
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("host %q is neither a name nor an IPv6 address without a zone", h)
		}
		return a.String(), nil
	}
	if h == "" {
		return "", fmt.Errorf("empty host name")
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "", fmt.Errorf("host %q: want letters, digits, '.', '-' or '_'", h)
		}
	}
	return h, nil
}
