package core

import "strings"

// Owner kinds, as they appear in paths and in consume requests.
const (
	ownerOrganizations = "organizations/"
	ownerUsers         = "users/"
)

// maxIDLen bounds every identifier a client sends (ids, items, sessions, keys).
const maxIDLen = 255

// checkOwner validates "organizations/<id>" or "users/<id>".
func checkOwner(owner string) error {
	id, ok := strings.CutPrefix(owner, ownerOrganizations)
	if !ok {
		id, ok = strings.CutPrefix(owner, ownerUsers)
	}
	if !ok {
		return invalidf("owner must be organizations/<id> or users/<id>, got %q", owner)
	}
	return checkID("owner id", id)
}

// checkID accepts 1 to 255 printable ASCII characters without '/', which keeps ids usable
// in paths and free of control characters in logs and reports.
func checkID(what, id string) error {
	if id == "" || len(id) > maxIDLen {
		return invalidf("%s must be 1 to %d characters", what, maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return invalidf("%s %q contains a character other than printable ASCII without '/' or space", what, id)
		}
	}
	return nil
}

// checkText accepts up to 255 bytes of valid UTF-8 without control characters: names of
// users, hosts and items as people write them.
func checkText(what, s string, required bool) error {
	if s == "" {
		if required {
			return invalidf("%s is required", what)
		}
		return nil
	}
	if len(s) > maxIDLen {
		return invalidf("%s is longer than %d bytes", what, maxIDLen)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return invalidf("%s contains a control character or invalid UTF-8", what)
		}
	}
	return nil
}
