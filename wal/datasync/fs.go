package datasync

import (
	"github.com/cockroachdb/pebble/v2/vfs"
)

// FS returns fs with the files match accepts, when opened for writing (Create,
// ReuseForWrite), synced through this package. Other files, and every other method, are
// fs's own.
func FS(fs vfs.FS, match func(name string) bool) vfs.FS {
	return syncFS{FS: fs, match: match}
}

type syncFS struct {
	vfs.FS
	match func(name string) bool
}

func (fs syncFS) Unwrap() vfs.FS { return fs.FS }

func (fs syncFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wrap(name, f, err)
}

func (fs syncFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wrap(newname, f, err)
}

func (fs syncFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !fs.match(name) {
		return f, err
	}
	return file{f}, nil
}

// file syncs through park when it can, and through its own methods when park declines.
type file struct{ vfs.File }

func (f file) SyncData() error {
	if done, err := park(f.Fd(), opFdatasync); done {
		return err
	}
	return f.File.SyncData()
}

func (f file) Sync() error {
	if done, err := park(f.Fd(), opFsync); done {
		return err
	}
	return f.File.Sync()
}
