package wal

import "sync"

// tail keeps a copy of the newest records in memory, so that Records over
// them (the applier's every pass, a few milliseconds behind the writers)
// reads no Pebble iterator: opening one and seeking its first key was about
// half of the applier's CPU, the applier a tenth of the agent's in sync
// mode. Records older than the tail, or a range it no longer holds whole,
// are read from Pebble as before; recovery always is (the tail starts empty).
//
// Records go in a group at a time as the group is handed to Pebble, under
// Log.applyMu and so in seq order: the tail holds a gapless run of seqs. It
// may hold records whose group failed, or is still being handed over: Records
// clamps its range to LastSeq and refuses one below FirstSeq before it looks
// here, so those are never served.
//
// Bytes live in a ring (buf): a record is copied to the write offset,
// wrapping to 0 when it does not fit before the end, and the oldest records
// whose bytes it overwrites are dropped first, as are the oldest once ents
// is full. Readers copy what they serve out under mu, so a writer never
// overwrites bytes a caller of Records is still reading.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	ents  []tailEnt // ring of entries, oldest at head
	head  int
	n     int    // entries held
	first uint64 // seq of the oldest held, when n > 0
	w     int    // next write offset in buf
}

type tailEnt struct{ off, len int }

// Sized for the applier's lag in sync and async mode at tens of thousands of
// consumes a second (0.1 s or more); a record larger than a quarter of the
// ring is not kept.
const (
	tailBytes   = 1 << 20
	tailRecords = 1 << 13
)

func newTail() *tail { return newTailSized(tailBytes, tailRecords) }

func newTailSized(bytes, records int) *tail {
	return &tail{buf: make([]byte, bytes), ents: make([]tailEnt, records)}
}

// putGroup keeps the n length-prefixed records of a group frame (frame.go)
// as seqs first, first+1, ...: the seqs after the last ones put. One lock a
// group: applyGroupLocked calls it for each group as it seals it.
func (t *tail) putGroup(first uint64, recs []byte, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range n {
		var rec []byte
		rec, recs, _ = nextRecord(recs)
		t.put1(first+uint64(i), rec)
	}
}

// put1 keeps one record; t.mu is held.
func (t *tail) put1(seq uint64, rec []byte) {
	if len(rec) > len(t.buf)/4 || (t.n > 0 && seq != t.first+uint64(t.n)) {
		t.n, t.head, t.w = 0, 0, 0 // the run of seqs breaks here: start a new one after it
		return
	}
	// The entries stored at or after w are the oldest (the previous lap of the ring); those
	// before w are newer. So what rec would overwrite is always at the head.
	end := t.w + len(rec)
	if end > len(t.buf) {
		for t.n > 0 && t.ents[t.head].off >= t.w { // the end of the ring is given up
			t.drop()
		}
		t.w, end = 0, len(rec)
	}
	for t.n > 0 && (t.n == len(t.ents) || t.ents[t.head].off >= t.w && t.ents[t.head].off < end) {
		t.drop()
	}
	if t.n == 0 {
		t.first = seq
	}
	copy(t.buf[t.w:], rec)
	t.ents[(t.head+t.n)%len(t.ents)] = tailEnt{off: t.w, len: len(rec)}
	t.n++
	t.w = end
}

// drop forgets the oldest record.
func (t *tail) drop() {
	t.head = (t.head + 1) % len(t.ents)
	t.n--
	t.first++
}

// read appends the records from..to to dst, with each one's end offset in
// ends, and reports false (appending nothing) unless the tail holds them all.
func (t *tail) read(from, to uint64, dst []byte, ends []int) ([]byte, []int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 || from < t.first || to >= t.first+uint64(t.n) || from > to {
		return dst, ends, false
	}
	for seq := from; seq <= to; seq++ {
		e := t.ents[(t.head+int(seq-t.first))%len(t.ents)]
		dst = append(dst, t.buf[e.off:e.off+e.len]...)
		ends = append(ends, len(dst))
	}
	return dst, ends, true
}
