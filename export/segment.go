package export

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Rotation is how the agent cuts its usage database into segments (USAGE_ROTATE).
type Rotation uint8

const (
	// RotateOff keeps one file for ever.
	RotateOff Rotation = iota
	// RotateMonthly seals the live file at the first write after each UTC month ends.
	RotateMonthly
	// RotateDaily seals it at the first write after each UTC day ends.
	RotateDaily
)

// ParseRotation parses "off", "monthly" or "daily" (case-insensitive).
func ParseRotation(s string) (Rotation, error) {
	switch {
	case strings.EqualFold(s, "off"):
		return RotateOff, nil
	case strings.EqualFold(s, "monthly"):
		return RotateMonthly, nil
	case strings.EqualFold(s, "daily"):
		return RotateDaily, nil
	}
	return 0, fmt.Errorf("export: unknown rotation %q (want monthly, daily or off)", s)
}

// String returns "off", "monthly" or "daily"; ParseRotation reads it back.
func (r Rotation) String() string {
	switch r {
	case RotateMonthly:
		return "monthly"
	case RotateDaily:
		return "daily"
	}
	return "off"
}

// period names the UTC period holding t: "2026-12" monthly, "2026-12-06" daily.
func (r Rotation) period(t time.Time) string {
	if r == RotateDaily {
		return t.UTC().Format(dayLayout)
	}
	return t.UTC().Format(monthLayout)
}

const (
	monthLayout = "2006-01"
	dayLayout   = "2006-01-02"
)

// periodBounds returns the half-open UTC interval [start, end) a period name covers; ok is
// false for a name that is neither a month nor a day in its one spelling. The empty name is
// the open-ended period of a segment written with rotation off.
func periodBounds(p string) (start, end time.Time, ok bool) {
	if p == "" {
		return time.Time{}, time.Time{}, true
	}
	for _, layout := range [...]string{monthLayout, dayLayout} {
		if len(p) != len(layout) {
			continue
		}
		t, err := time.Parse(layout, p)
		if err != nil || t.Format(layout) != p {
			return start, end, false
		}
		if layout == monthLayout {
			return t, t.AddDate(0, 1, 0), true
		}
		return t, t.AddDate(0, 0, 1), true
	}
	return start, end, false
}

// SealedName is the base name of a sealed segment: usage-<first 8 of agent_id>-<period>.db,
// beside the live file.
func SealedName(agentID, period string) string {
	return fmt.Sprintf("usage-%s-%s.db", agentID[:min(8, len(agentID))], period)
}

// nextSuffix names the segment being made during a rotation, beside the live file, until it
// is renamed to the live name; Open finishes or undoes a rotation a crash cut short.
const nextSuffix = ".next"

// Segment meta keys (schema_version 3). A file without them (version 2) is a whole chain
// written with rotation off, and still verifies as one.
const (
	metaSegment     = "segment"       // 1, 2, ...: the segment's place in the agent's chain
	metaPrevHeadSeq = "prev_head_seq" // head_seq of the previous segment; 0 for segment 1
	metaPrevHeadMAC = "prev_head_mac" // its head_mac: this segment's chain starts there
	metaPeriod      = "period"        // the UTC month or day it covers; "" when open-ended
)

const segmentSchemaVersion = "3"

// segInfo is a segment's place in its agent's chain; segment 0 means a file written before
// rotation existed (or with it off throughout): the whole chain, starting at the agent's MAC.
type segInfo struct {
	segment     int64
	prevHeadSeq int64
	prevHeadMAC mac
	period      string
	start, end  time.Time // of period; zero when open-ended
}

// parseSegment reads the segment fields of a version 3 meta table; start is the agent's
// chain start, which segment 1 must begin at.
func (m *metaInfo) parseSegment(start mac, bad func(string, ...any) error) error {
	var seg, prev string
	var ok bool
	for _, k := range [...]string{metaSegment, metaPrevHeadSeq, metaPrevHeadMAC, metaPeriod} {
		if _, ok := m.get(k); !ok {
			return bad("%s missing or not text", k)
		}
	}
	seg, _ = m.get(metaSegment)
	prev, _ = m.get(metaPrevHeadSeq)
	prevMAC, _ := m.get(metaPrevHeadMAC)
	m.seg.period, _ = m.get(metaPeriod)
	switch {
	case !parseDecimal(seg, &m.seg.segment) || m.seg.segment < 1:
		return bad("segment %q", seg)
	case !parseDecimal(prev, &m.seg.prevHeadSeq):
		return bad("prev_head_seq %q", prev)
	}
	if m.seg.prevHeadMAC, ok = decodeMAC(textValue(prevMAC)); !ok {
		return bad("prev_head_mac %q", prevMAC)
	}
	if m.seg.start, m.seg.end, ok = periodBounds(m.seg.period); !ok {
		return bad("period %q is neither YYYY-MM nor YYYY-MM-DD", m.seg.period)
	}
	switch {
	case m.seg.segment == 1 && (m.seg.prevHeadSeq != 0 || m.seg.prevHeadMAC != start):
		return bad("segment 1 does not start at the agent's chain start")
	case m.seg.segment > 1 && m.seg.prevHeadSeq == 0 && m.seg.prevHeadMAC != start:
		return bad("prev_head_seq 0 but prev_head_mac is not the chain start")
	case m.headSeq < m.seg.prevHeadSeq:
		return bad("head_seq %d before prev_head_seq %d", m.headSeq, m.seg.prevHeadSeq)
	}
	return nil
}

// sealedPath is where the live file at path goes when its period is sealed.
func sealedPath(path, agentID, period string) string {
	return filepath.Join(filepath.Dir(path), SealedName(agentID, period))
}
