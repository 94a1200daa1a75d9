package httpapi

import "bytes"

// hostSet matches the name in a Host header or an Origin against ALLOWED_HOSTS, without
// allocating.
type hostSet [][]byte

func newHostSet(names []string) hostSet {
	s := make(hostSet, len(names))
	for i, n := range names {
		s[i] = []byte(n)
	}
	return s
}

func (s hostSet) allowsHost(hostport []byte) bool {
	name, ok := splitHostPort(hostport)
	return ok && s.has(name)
}

// allowsOrigin checks an Origin header value: scheme "://" host [":" port]. "null", sent by
// sandboxed frames and local files, names no host and is not allowed.
func (s hostSet) allowsOrigin(origin []byte) bool {
	i := bytes.Index(origin, []byte("://"))
	if i <= 0 {
		return false
	}
	return s.allowsHost(origin[i+3:])
}

func (s hostSet) has(name []byte) bool {
	for _, h := range s {
		if len(name) == len(h) && bytes.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// splitHostPort takes host, host:port, [v6] or [v6]:port; anything else (a bare IPv6
// address, a path, user info, an empty or non-numeric port) is malformed.
func splitHostPort(b []byte) (name []byte, ok bool) {
	rest := b
	if len(b) > 0 && b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 {
			return nil, false
		}
		name, rest = b[1:end], b[end+1:]
	} else if i := bytes.IndexByte(b, ':'); i >= 0 {
		name, rest = b[:i], b[i:]
	} else {
		name, rest = b, nil
	}
	if len(rest) > 0 && (rest[0] != ':' || !isPort(rest[1:])) {
		return nil, false
	}
	return name, len(name) > 0
}

func isPort(p []byte) bool {
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
