package export

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// chainTrail is what one agent's segments, verified in order in one run, hand to the next:
// the previous segment's head, where each license's counter stood and the last row's time.
// A nil trail is a file verified on its own.
type chainTrail struct {
	prev     *Summary
	licenses map[string]licenseTrail
	last     time.Time
	billed   map[string]int64 // each license's counter as a report has billed it
}

// counters is where a report keeps each license's counter, across the chain's segments: a
// row is billed what it moved the counter, wherever the previous row of its license was. A
// whole-chain file starts from nothing.
func (t *chainTrail) counters(s *Summary) map[string]int64 {
	if t == nil || s.Segment == 0 {
		return map[string]int64{}
	}
	if t.billed == nil {
		t.billed = map[string]int64{}
	}
	return t.billed
}

// joins checks that s continues the previous segment: the next segment number, starting at
// its head.
func (t *chainTrail) joins(s *Summary) error {
	if t == nil || t.prev == nil || t.prev.Segment == 0 || s.Segment == 0 {
		return nil // whole chains of one agent (a ledger's run) do not join: each starts at seq 1
	}
	p := t.prev
	if s.Segment != p.Segment+1 || s.PrevHeadSeq != p.HeadSeq || s.PrevHeadMAC != p.HeadMAC {
		return &VerifyError{Path: s.Path, Meta: true, Reason: fmt.Sprintf(
			"segment %d does not join %s (segment %d, head seq %d): it continues after seq %d",
			s.Segment, p.Path, p.Segment, p.HeadSeq, s.PrevHeadSeq)}
	}
	return nil
}

// checker returns the row checker for a file with meta m, primed with the trail.
func (t *chainTrail) checker(m *metaInfo) *rowChecker {
	c := newRowChecker(m.level, m.seg)
	if t != nil && t.licenses != nil && m.seg.segment > 0 {
		c.licenses, c.last = t.licenses, t.last
	}
	return c
}

// done takes over what a verified segment leaves.
func (t *chainTrail) done(s *Summary, c *rowChecker) {
	if t == nil {
		return
	}
	t.prev = s
	if s.Segment > 0 {
		t.licenses, t.last = c.licenses, c.last
	}
}

// header is what a file's meta says about its place in a chain, read before it is verified,
// only to put the files in order: verification checks every field of it again.
type header struct {
	path    string
	agentID string
	segment int64
}

func readChainHeader(path string) (header, error) {
	conn, err := openReadOnly(path)
	if err != nil {
		return header{}, err
	}
	defer conn.Close()
	entries, _, err := readMeta(conn)
	if err != nil {
		return header{}, classify(path, err)
	}
	h := header{path: path}
	for _, e := range entries {
		switch e.key {
		case metaAgentID:
			h.agentID = e.val.s
		case metaSegment:
			parseDecimal(e.val.s, &h.segment)
		}
	}
	return h, nil
}

// orderChains reads the meta of every file and groups the files per agent, each agent's
// segments in order: agents in the order their first file was given. Two files with the same
// segment number, or an agent's files with a segment number missing between them (named),
// are a *VerifyError. Whole-chain files (no segments) of one agent stay in the order given:
// see sameAgent. A file whose meta cannot be read is a chain of its own, for verification to
// say why. Nothing is verified here.
func orderChains(paths []string) ([][]string, error) {
	var order []string
	byAgent := map[string][]header{}
	for _, p := range paths {
		h, err := readChainHeader(p)
		if err != nil {
			h = header{path: p, agentID: "\x00" + p} // alone, for verification to name what is wrong
		}
		if _, ok := byAgent[h.agentID]; !ok {
			order = append(order, h.agentID)
		}
		byAgent[h.agentID] = append(byAgent[h.agentID], h)
	}
	chains := make([][]string, 0, len(order))
	for _, id := range order {
		hs := byAgent[id]
		slices.SortStableFunc(hs, func(a, b header) int { return cmp.Compare(a.segment, b.segment) })
		if err := checkOrder(id, hs); err != nil {
			return nil, err
		}
		files := make([]string, len(hs))
		for i, h := range hs {
			files[i] = h.path
		}
		chains = append(chains, files)
	}
	return chains, nil
}

func checkOrder(agent string, hs []header) error {
	for i := 1; i < len(hs); i++ {
		a, b := hs[i-1], hs[i]
		switch {
		case a.segment == 0: // see sameAgent
		case b.segment == a.segment:
			return &VerifyError{Path: b.path, Meta: true, Reason: fmt.Sprintf("segment %d of agent %s given twice (also %s)", b.segment, agent, a.path)}
		case b.segment > a.segment+1:
			missing := fmt.Sprintf("segment %d", a.segment+1)
			if b.segment > a.segment+2 {
				missing = fmt.Sprintf("segments %d to %d", a.segment+1, b.segment-1)
			}
			return &VerifyError{Path: b.path, Meta: true, Reason: fmt.Sprintf(
				"agent %s: %s missing between %s (segment %d) and this file (segment %d)", agent, missing, a.path, a.segment, b.segment)}
		}
	}
	return nil
}

// FileResult is one file's outcome in VerifySet: its summary, or why it failed.
type FileResult struct {
	Path    string
	Summary *Summary
	Err     error
}

// VerifySet verifies files of any number of agents: each agent's segments in chain order,
// each joining the one before (segment number, head, license counters and time carried
// across), so the segments of one agent verify as one chain. With a ledger every file must
// continue the agent's accepted head, and is accepted in memory (the caller saves). The files
// of an agent after one that failed are not verified and not listed. The error is for a set
// that cannot be put in order (a segment missing or given twice); then nothing is verified.
func VerifySet(paths []string, key []byte, opts VerifyOptions, ledger *Ledger) ([]FileResult, error) {
	return walkChains(paths, ledger, func(path string, trail *chainTrail) (*Summary, error) {
		s, err := verifyIn(path, key, opts, nil, trail)
		if err == nil {
			_, err = accept(ledger, s)
		}
		return s, err
	})
}

// walkChains puts paths in chain order (orderChains) and runs do on each agent's files in
// turn, with the chain's trail; a file whose do fails, or that breaks the same-agent rule, ends
// its agent's chain, and the walk goes on with the next agent's.
func walkChains(paths []string, ledger *Ledger, do func(path string, trail *chainTrail) (*Summary, error)) ([]FileResult, error) {
	chains, err := orderChains(paths)
	if err != nil {
		return nil, err
	}
	var out []FileResult
	for _, files := range chains {
		trail := &chainTrail{}
		for _, path := range files {
			prev := trail.prev
			s, err := do(path, trail)
			if err == nil {
				err = sameAgent(prev, s, ledger)
			}
			if err != nil {
				out = append(out, FileResult{Path: path, Err: err})
				break
			}
			out = append(out, FileResult{Path: path, Summary: s})
		}
	}
	return out, nil
}

// sameAgent refuses, without a ledger, a whole-chain export beside another export of its
// agent: their common rows would count twice. A ledger bills only what is past each accepted
// head, so with one it decides.
func sameAgent(prev, s *Summary, ledger *Ledger) error {
	if prev == nil || ledger != nil || prev.Segment > 0 && s.Segment > 0 {
		return nil
	}
	return fmt.Errorf("%w: %s and %s (agent %s); report the newest, or use a ledger", ErrSameAgent, prev.Path, s.Path, s.AgentID)
}
