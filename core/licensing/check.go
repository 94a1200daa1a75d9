package licensing

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid marks a value that is not well-formed: nothing was done with it.
var ErrInvalid = errors.New("invalid request")

// Invalidf wraps ErrInvalid with a message for the caller.
func Invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Owner kinds, as they appear in paths and in consume requests.
const (
	ownerOrganizations = "organizations/"
	ownerUsers         = "users/"
)

// MaxIDLen bounds every identifier a client sends (ids, items, sessions, keys).
const MaxIDLen = 255

// CheckOwner validates "organizations/<id>" or "users/<id>".
func CheckOwner(owner string) error {
	id, ok := strings.CutPrefix(owner, ownerOrganizations)
	if !ok {
		id, ok = strings.CutPrefix(owner, ownerUsers)
	}
	if !ok {
		return Invalidf("owner must be organizations/<id> or users/<id>, got %q", owner)
	}
	return CheckID("owner id", id)
}

// CheckID accepts 1 to 255 printable ASCII characters without '/', which keeps ids usable
// in paths and free of control characters in logs and reports.
func CheckID(what, id string) error {
	if id == "" || len(id) > MaxIDLen {
		return Invalidf("%s must be 1 to %d characters", what, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return Invalidf("%s %q contains a character other than printable ASCII without '/' or space", what, id)
		}
	}
	return nil
}

// CheckText accepts up to 255 bytes of valid UTF-8 without control characters: names of
// users, hosts and items as people write them.
func CheckText(what, s string, required bool) error {
	if s == "" {
		if required {
			return Invalidf("%s is required", what)
		}
		return nil
	}
	if len(s) > MaxIDLen {
		return Invalidf("%s is longer than %d bytes", what, MaxIDLen)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return Invalidf("%s contains a control character or invalid UTF-8", what)
		}
	}
	return nil
}
