package licensing

import "github.com/meterd/meterd/shard"

// Answer is the outcome of one consume request, as the client sees it. An Idempotency-Key
// keeps it, in memory and in the checkpoint, to give it again.
type Answer struct {
	Granted   bool
	License   string
	Units     int64 // granted units (0 for a call in an open session)
	Remaining int64
	Seq       uint64        // WAL sequence number of a grant
	Outcome   shard.Outcome // why a denial was denied
}
