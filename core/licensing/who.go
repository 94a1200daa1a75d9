package licensing

import (
	"net/netip"
	"unicode"
	"unicode/utf8"
)

// Bounds of the fields that say who consumed: they are kept in the WAL, in memory while a
// session is open, and in the usage database at the detailed level, so each is short and
// prints as itself (no control, format or invalid bytes to hide text in a report).
const (
	maxWhoLen  = 256 // bytes of user, host and session
	maxZoneLen = 15  // an IPv6 zone is an interface name: IFNAMSIZ - 1 on Linux
)

// CheckWho validates the optional session, user, host and ip of a consume or checkin.
func CheckWho(session, user, host, ip string) error {
	for _, f := range [...]struct{ name, v string }{{"session", session}, {"user", user}, {"host", host}} {
		if err := checkPrintable(f.name, f.v); err != nil {
			return err
		}
	}
	return checkIP(ip)
}

// checkPrintable accepts up to maxWhoLen bytes of UTF-8 that unicode.IsPrint accepts.
func checkPrintable(what, s string) error {
	if len(s) > maxWhoLen {
		return Invalidf("%s is longer than %d bytes", what, maxWhoLen)
	}
	for i := 0; i < len(s); {
		if c := s[i]; c >= ' ' && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return Invalidf("%s holds a character that is not printable UTF-8 at byte %d", what, i)
		}
		i += n
	}
	return nil
}

// checkIP accepts "" or an IP address; an IPv6 zone is at most maxZoneLen printable ASCII
// characters.
func checkIP(ip string) error {
	if ip == "" {
		return nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return Invalidf("ip is not an IP address")
	}
	zone := a.Zone()
	if len(zone) > maxZoneLen {
		return Invalidf("ip: the zone is longer than %d characters", maxZoneLen)
	}
	for i := 0; i < len(zone); i++ {
		if zone[i] <= ' ' || zone[i] > '~' {
			return Invalidf("ip: the zone holds a character other than printable ASCII")
		}
	}
	return nil
}
