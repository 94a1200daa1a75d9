package export

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"

	"zombiezen.com/go/sqlite"
)

// UsageRow is one row of the usage table as a reader sees it: every column
// but mac, a NULL read as "" (the writer writes "" as NULL). Mark and
// Problem say what Dump with a key found.
type UsageRow struct {
	Seq             int64  `json:"seq"`
	Batch           int64  `json:"batch"`
	Time            string `json:"time"`
	Action          string `json:"action"`
	Owner           string `json:"owner"`
	Item            string `json:"item"`
	LicenseID       string `json:"license_id"`
	Units           int64  `json:"units"`
	Events          int64  `json:"events"`
	LicenseConsumed int64  `json:"license_consumed"`
	Session         string `json:"session,omitempty"`
	Username        string `json:"username,omitempty"`
	Hostname        string `json:"hostname,omitempty"`
	IPAddress       string `json:"ipaddress,omitempty"`
	ExternalID      string `json:"external_id,omitempty"`
	VendorSignature string `json:"vendor_signature,omitempty"`
	VendorRequest   string `json:"vendor_request,omitempty"`

	Mark    Mark   `json:"-"`
	Problem string `json:"problem,omitempty"` // why the row is Broken
}

// Mark is what Dump knows of a row.
type Mark uint8

const (
	// Unchecked: Dump had no key.
	Unchecked Mark = iota
	// Verified: the row's MAC chains from the agent's start through every
	// row before it, and it passes every check Verify makes of a row.
	Verified
	// Broken: the first row that fails; Problem says why.
	Broken
	// Unverified: a row after a Broken one, or in a file whose meta or
	// schema failed. The chain vouches for nothing from the break on.
	Unverified
)

var markNames = [...]string{Unchecked: "", Verified: "verified", Broken: "BAD", Unverified: "unverified"}

// String returns "" (Unchecked), "verified", "BAD" or "unverified".
func (m Mark) String() string {
	if int(m) < len(markNames) {
		return markNames[m]
	}
	return "Mark(" + strconv.Itoa(int(m)) + ")"
}

// DumpInfo describes a file Dump read: agent and level as its meta table
// says (checked only with a key), and the rows handed out.
type DumpInfo struct {
	Path, AgentID, Level string
	Rows                 int64
	FirstSeq, LastSeq    int64 // 0 when there are no rows
}

// Dump hands every row of the usage database at path to fn, in seq order,
// one at a time: the file is never held in memory. fn's *UsageRow is
// reused for the next row. An error from fn stops Dump and is returned.
//
// Without a key (nil) the rows are read as stored and left Unchecked; the
// file must only be a usage database (else an error wrapping
// ErrNotUsageDB). With a key the file is verified as Verify does while
// the rows are handed out: rows up to the first problem are Verified, the
// row it is found at is Broken, and the rest are Unverified (all of them
// when meta or the schema fails). Every row is handed out before Verify's error (a
// *VerifyError) is returned; the DumpInfo is returned with it.
func Dump(path string, key []byte, fn func(*UsageRow) error) (*DumpInfo, error) {
	d := &dumper{info: DumpInfo{Path: path}, fn: fn}
	if key == nil {
		return &d.info, d.rest(path, math.MinInt64, nil)
	}
	s, err := verify(path, key, VerifyOptions{}, func(s *Summary, r *row) {
		d.info.AgentID, d.info.Level = s.AgentID, s.Level
		if d.err == nil {
			d.err = d.emit(r, Verified, "")
		}
	})
	if d.err != nil {
		return &d.info, d.err
	}
	var ve *VerifyError
	switch {
	case err == nil:
		d.info.AgentID, d.info.Level = s.AgentID, s.Level
		return &d.info, nil
	case !errors.As(err, &ve):
		return &d.info, err // not a usage database, or unreadable
	}
	after := int64(math.MinInt64)
	if d.info.Rows > 0 {
		after = d.info.LastSeq
	}
	// Verify's error is the verdict; one met reading the rest again (the
	// row that broke it may be unreadable) only says less.
	d.rest(path, after, ve)
	if d.err != nil {
		return &d.info, d.err
	}
	return &d.info, err
}

type dumper struct {
	info DumpInfo
	fn   func(*UsageRow) error
	out  UsageRow
	err  error // from fn
}

// rest reads the rows after seq after without checking them: all of a file
// read without a key, or what follows the last Verified row. With ve (a
// row's problem) the first of them is Broken and the rest Unverified;
// without it, a file with a key gets Unverified rows, one without Unchecked.
func (d *dumper) rest(path string, after int64, ve *VerifyError) error {
	conn, err := openReadOnly(path)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.info.Rows == 0 {
		if err := d.claims(conn); err != nil {
			return err
		}
	}
	stmt, err := conn.Prepare(selectRows + " WHERE seq > ? ORDER BY seq")
	if err != nil {
		return classify(path, err)
	}
	defer stmt.Reset()
	stmt.BindInt64(1, after)
	mark, problem := Unchecked, ""
	if ve != nil {
		mark = Unverified
		if ve.Seq != 0 {
			mark, problem = Broken, ve.Reason
		}
	}
	var r row
	for {
		ok, err := stmt.Step()
		if err != nil {
			return classify(path, err)
		}
		if !ok {
			return nil
		}
		readRow(stmt, &r)
		if mark == Broken && asInt(r[colSeq]) != ve.Seq {
			problem = "seq " + strconv.FormatInt(ve.Seq, 10) + ": " + problem
		}
		if d.err = d.emit(&r, mark, problem); d.err != nil {
			return d.err
		}
		if mark == Broken {
			mark, problem = Unverified, ""
		}
	}
}

// claims takes agent_id and usage_level from a file's meta table as
// stored, for a file read without a key or whose meta failed.
func (d *dumper) claims(conn *sqlite.Conn) error {
	objs, err := readSchema(conn)
	if err != nil {
		return classify(d.info.Path, err)
	}
	if !hasTables(objs) {
		return fmt.Errorf("%w: %s: no meta or usage table", ErrNotUsageDB, d.info.Path)
	}
	entries, _, err := readMeta(conn)
	if err != nil {
		return classify(d.info.Path, err)
	}
	for _, e := range entries {
		switch e.key {
		case metaAgentID:
			d.info.AgentID = asText(e.val)
		case metaLevel:
			d.info.Level = asText(e.val)
		}
	}
	return nil
}

func (d *dumper) emit(r *row, mark Mark, problem string) error {
	d.out = UsageRow{
		Seq: asInt(r[colSeq]), Batch: asInt(r[colBatch]), Time: asText(r[colTime]), Action: asText(r[colAction]),
		Owner: asText(r[colOwner]), Item: asText(r[colItem]), LicenseID: asText(r[colLicenseID]),
		Units: asInt(r[colUnits]), Events: asInt(r[colEvents]), LicenseConsumed: asInt(r[colLicenseConsumed]),
		Session: asText(r[colSession]), Username: asText(r[colUsername]), Hostname: asText(r[colHostname]),
		IPAddress: asText(r[colIPAddress]), ExternalID: asText(r[colExternalID]),
		VendorSignature: asText(r[colVendorSignature]), VendorRequest: asText(r[colVendorRequest]),
		Mark: mark, Problem: problem,
	}
	d.info.Rows++
	d.info.LastSeq = d.out.Seq
	if d.info.Rows == 1 {
		d.info.FirstSeq = d.out.Seq
	}
	return d.fn(&d.out)
}

// asInt reads an integer column; a value of another type (only in a file
// the writer did not write, which a key marks Broken) reads as SQLite's
// CAST would make it, roughly: text as its number, real truncated, else 0.
func asInt(v value) int64 {
	switch v.tag {
	case tagInteger:
		return v.i
	case tagFloat:
		return int64(math.Float64frombits(uint64(v.i)))
	case tagText:
		n, _ := strconv.ParseInt(v.s, 10, 64)
		return n
	}
	return 0
}

// asText reads a text column; NULL is "", and a value of another type is
// shown as its number or, for a blob, its hex.
func asText(v value) string {
	switch v.tag {
	case tagText:
		return v.s
	case tagInteger:
		return strconv.FormatInt(v.i, 10)
	case tagFloat:
		return strconv.FormatFloat(math.Float64frombits(uint64(v.i)), 'g', -1, 64)
	case tagBlob:
		return hex.EncodeToString([]byte(v.s))
	}
	return ""
}
