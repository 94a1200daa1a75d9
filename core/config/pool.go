package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// parseEndpoints checks a comma-separated list of etcd client URLs (http or https, host and
// port, nothing else) and returns it without white space.
func parseEndpoints(v string) (string, error) {
	var out []string
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", fmt.Errorf("want etcd client URLs such as http://10.0.0.1:2379,http://10.0.0.2:2379, got %q", e)
		}
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return "", fmt.Errorf("etcd URL %q has no port", e)
		}
		out = append(out, strings.TrimSuffix(e, "/"))
	}
	return strings.Join(out, ","), nil
}

// Endpoints is POOL_ENDPOINTS as a list; nil when no pool is set.
func (c *Config) Endpoints() []string {
	if c.PoolEndpoints == "" {
		return nil
	}
	return strings.Split(c.PoolEndpoints, ",")
}

// parseLeaseTTL: etcd leases are whole seconds; below 2 s a busy agent's keep-alives could not
// keep up.
func parseLeaseTTL(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 2*time.Second || d > time.Hour || d%time.Second != 0 {
		return 0, fmt.Errorf("want whole seconds from 2s to 1h, got %q", v)
	}
	return d, nil
}
