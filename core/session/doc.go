// Package session is the live table of the sessions of sessions-mode licenses: one lock per
// session, held by the caller across the WAL append that opens or closes it, so that concurrent
// first calls of one session check out once; the MAX_SESSIONS bound, reserved before a checkout
// takes units; and the idle sessions SESSION_TIMEOUT checks in.
//
// It knows nothing of licenses or the log: core decides, logs and then marks a session open or
// closed here, and at start-up puts back the sessions the durable state holds open.
package session
