package export

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// metaInfo is a verified meta table.
type metaInfo struct {
	entries []metaEntry // every row but meta_mac, sorted by key
	agentID string
	keyID   string
	level   Level
	created string
	headSeq int64
	headMAC mac
	walSeq  uint64
	seg     segInfo // segment 0: a version 2 file, one whole chain
}

func (m *metaInfo) get(key string) (string, bool) {
	for _, e := range m.entries {
		if e.key == key {
			return e.val.s, e.val.tag == tagText
		}
	}
	return "", false
}

// checkMeta verifies meta_mac first (so every later message is about a
// table the key holder wrote), then parses the fields. Problems are a
// *VerifyError naming meta, except a schema_version this package does not
// know, which wraps ErrNotUsageDB.
func checkMeta(path string, entries []metaEntry, sign *signer, keyID string) (*metaInfo, error) {
	bad := func(format string, args ...any) error {
		return &VerifyError{Path: path, Meta: true, Reason: fmt.Sprintf(format, args...)}
	}
	i := slices.IndexFunc(entries, func(e metaEntry) bool { return e.key == metaMAC })
	if i < 0 {
		return nil, bad("missing %s", metaMAC)
	}
	got, ok := decodeMAC(entries[i].val)
	if !ok {
		return nil, bad("%s is not 64 lowercase hex digits", metaMAC)
	}
	m := &metaInfo{entries: slices.Delete(slices.Clone(entries), i, i+1)}
	if want := sign.meta(m.entries); !macEqual(got[:], want[:]) {
		if id, _ := m.get(metaKeyID); id != keyID {
			return nil, bad("signed by key %s, not %s", id, keyID)
		}
		return nil, bad("%s mismatch", metaMAC)
	}
	if err := m.parse(path, keyID, bad); err != nil {
		return nil, err
	}
	if v, _ := m.get(metaSchemaVersion); v == segmentSchemaVersion {
		if err := m.parseSegment(sign.start(m.agentID), bad); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// chainStart is the seq and MAC the file's first row follows.
func (m *metaInfo) chainStart(sign *signer) (int64, mac) {
	if m.seg.segment > 0 {
		return m.seg.prevHeadSeq, m.seg.prevHeadMAC
	}
	return 0, sign.start(m.agentID)
}

func (m *metaInfo) parse(path, keyID string, bad func(string, ...any) error) error {
	var missing string
	text := func(key string) string {
		s, ok := m.get(key)
		if !ok && missing == "" {
			missing = key
		}
		return s
	}
	version := text(metaSchemaVersion)
	m.agentID, m.keyID, m.created = text(metaAgentID), text(metaKeyID), text(metaCreated)
	level, headSeq, headMAC, walSeq := text(metaLevel), text(metaHeadSeq), text(metaHeadMAC), text(metaWALSeq)
	var ok bool
	switch {
	case missing != "":
		return bad("%s missing or not text", missing)
	case version != schemaVersion && version != segmentSchemaVersion:
		return fmt.Errorf("%w: %s: unsupported schema_version %q", ErrNotUsageDB, path, version)
	case m.keyID != keyID:
		return bad("signed by key %s, not %s", m.keyID, keyID)
	case m.agentID == "":
		return bad("empty agent_id")
	case !parseLevelExact(level, &m.level):
		return bad("usage_level %q", level)
	case !validTime(m.created):
		return bad("created %q is not RFC 3339 UTC", m.created)
	case !parseDecimal(headSeq, &m.headSeq):
		return bad("head_seq %q", headSeq)
	case !parseWALSeq(walSeq, &m.walSeq):
		return bad("wal_seq %q", walSeq)
	}
	if m.headMAC, ok = decodeMAC(textValue(headMAC)); !ok {
		return bad("head_mac %q", headMAC)
	}
	return nil
}

// decodeMAC accepts exactly the text the writer writes: 64 lowercase hex
// digits.
func decodeMAC(v value) (m mac, ok bool) {
	if v.tag != tagText || len(v.s) != 2*macSize || strings.ToLower(v.s) != v.s {
		return m, false
	}
	_, err := hex.Decode(m[:], []byte(v.s))
	return m, err == nil
}

func parseLevelExact(s string, l *Level) bool {
	v, err := ParseLevel(s)
	*l = v
	return err == nil && v.String() == s
}

// parseDecimal accepts a canonical non-negative decimal, as written.
func parseDecimal(s string, v *int64) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	*v = n
	return err == nil && n >= 0 && strconv.FormatInt(n, 10) == s
}

func parseWALSeq(s string, v *uint64) bool {
	n, err := strconv.ParseUint(s, 10, 64)
	*v = n
	return err == nil && strconv.FormatUint(n, 10) == s
}

// validTime reports whether s is RFC 3339 in UTC ("Z").
func validTime(s string) bool {
	_, ok := parseTime(s)
	return ok
}

func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil && strings.HasSuffix(s, "Z")
}

// metaText builds the meta rows the writer keeps, sorted by key.
func metaText(kv ...string) []metaEntry {
	var entries []metaEntry
	for i := 0; i+1 < len(kv); i += 2 {
		entries = append(entries, metaEntry{key: kv[i], val: textValue(kv[i+1])})
	}
	slices.SortFunc(entries, func(a, b metaEntry) int { return strings.Compare(a.key, b.key) })
	return entries
}
