//go:build !linux

package datasync

type op uint16

const (
	opFsync op = iota
	opFdatasync
)

// park never parks outside Linux: the file's own sync runs.
func park(uintptr, op) (bool, error) { return false, nil }
