package wal

import (
	"errors"
	"fmt"
)

// pebbleLogger routes Pebble's messages to Options.Logger.
//
// Pebble calls Fatalf where it cannot go on (a failed commit, a MANIFEST write
// that failed) and expects it not to return; its default logger exits the
// process. This one marks the log failed and panics with a fatalError instead:
// inside the log's apply the panic is recovered into the sticky failure, so
// the appenders of that group get an error; anywhere else (a flush or
// compaction goroutine) it ends the process, as Pebble's default would, but
// with a stack.
type pebbleLogger struct{ l *Log }

type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.logf("pebble: "+format, args...)
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.logf("pebble: "+format, args...)
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	err := errors.New("pebble: fatal: " + fmt.Sprintf(format, args...))
	p.l.logf("%v", err)
	p.l.fail(err)
	panic(fatalError{err})
}

func (l *Log) logf(format string, args ...any) {
	if l.opts.Logger != nil {
		l.opts.Logger(format, args...)
	}
}
