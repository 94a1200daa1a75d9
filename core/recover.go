package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/core/version"
	"github.com/meterd/meterd/export"
	"github.com/meterd/meterd/wal"
)

// keyExported remembers, in the state store, how far the usage database had got at the last
// checkpoint, so that a usage database replaced by an older copy (or deleted) is noticed.
var keyExported = []byte("m/exported")

// recover opens the log, loads the last checkpoint, replays the tail into the durable state,
// exports what the usage database lacks, and builds the live engine from the result.
func (e *Engine) recover(fs vfs.FS) error {
	if fs == nil {
		if err := makeDataDir(e.cfg.DataDir); err != nil {
			return err
		}
	}
	log, err := wal.Open(e.walDir, wal.Options{FS: fs, Durability: walDurability(e.cfg.Durability),
		OnCommit: e.metrics.ObserveCommit, Logger: e.walLogger})
	if err != nil {
		return fmt.Errorf("open %s: %w", e.walDir, err)
	}
	e.log = log
	if err := log.Sync(); err != nil { // what an earlier run left unsynced is exported below
		return fmt.Errorf("%s: %w", e.walDir, err)
	}
	a := &applier{e: e, done: make(chan struct{})}
	d, stored, err := e.loadState()
	if err != nil {
		return err
	}
	a.d, a.cpSeq, a.truncated, a.storedExported = d, log.CheckpointSeq(), log.FirstSeq()-1, stored
	a.storedClock = e.clk.mark() // what the checkpoint held: nothing has read the clock yet
	if err := e.openUsage(a, stored); err != nil {
		return err
	}
	if err := e.replay(a); err != nil {
		return err
	}
	if err := e.buildLive(d); err != nil {
		return err
	}
	e.apply = a
	e.nowNS() // a system clock behind the recovered mark is reported at start-up, not at the first request
	return a.pass(true, false)
}

// loadState reads the checkpoint. Answers and transactions go straight to the live tables.
func (e *Engine) loadState() (d *durable, exported uint64, err error) {
	d = newDurable(int64(e.cfg.IdempotencyTTL), e.cfg.UsageLevel)
	now := wallNS(e.clock()) // not the engine's clock: its mark is not loaded yet
	d.onIdem = func(key string, ent *record.Idem) {
		if ent.Created+int64(e.cfg.IdempotencyTTL) > now {
			e.idem.Put(key, ent.Hash, ent.Created, ent.Answer)
		}
	}
	d.onTx = func(ext string, ent *record.Tx) { e.txs[ext] = ent }
	err = e.log.State(func(k, v []byte) error {
		switch string(k) {
		case string(keyExported):
			exported, err = strconv.ParseUint(string(v), 10, 64)
			return err
		case string(keyClock):
			t, err := strconv.ParseInt(string(v), 10, 64)
			e.clk.advance(t)
			return err
		}
		return d.load(k, v)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: checkpoint: %w", e.walDir, err)
	}
	slices.SortStableFunc(d.idemFIFO, func(a, b idemStamp) int { return cmp.Compare(a.created, b.created) })
	d.applied = e.log.CheckpointSeq()
	if d.agentID == "" {
		d.agentID, d.agentNew = licensing.NewID(), true
	}
	return d, exported, nil
}

// openUsage opens the usage database and checks that it fits the log: it may not hold
// records the log never had, nor lack records the log already let go of.
func (e *Engine) openUsage(a *applier, stored uint64) error {
	path := e.cfg.UsageDatabasePath()
	if path == "" {
		return nil
	}
	key, err := loadOrCreateKey(e.cfg.UsageKeyPath())
	if err != nil {
		return err
	}
	if err := export.FinishRotation(path); err != nil {
		return fmt.Errorf("usage database %s: %w", path, err)
	}
	if _, statErr := os.Stat(path); errors.Is(statErr, os.ErrNotExist) && stored > 0 {
		return fmt.Errorf("usage database %s is missing, but this agent already wrote records through WAL seq %d to it", path, stored)
	}
	db, err := export.Open(export.Options{Path: path, Key: key, Level: e.cfg.UsageLevel, AgentID: a.d.agentID,
		AgentVersion: version.Get().String(), Rotate: e.cfg.UsageRotate,
		Now: func() time.Time { return time.Unix(0, e.nowNS()).UTC() }})
	if err != nil {
		return fmt.Errorf("usage database %s: %w", path, err)
	}
	a.db, a.batcher = db, export.NewBatcher(db, e.cfg.UsageWriteInterval, export.BatcherHooks{OnWrite: e.metrics.ObserveWrite})
	got, last := db.ExportedSeq(), e.log.LastSeq()
	switch {
	case got > last:
		err = fmt.Errorf("usage database %s is ahead of the write-ahead log: it holds records through WAL seq %d, but %s ends at seq %d", path, got, e.walDir, last)
	case got < stored:
		err = fmt.Errorf("usage database %s holds records through WAL seq %d, but this agent already wrote through seq %d to it: was it replaced by an older copy?", path, got, stored)
	}
	if err != nil {
		db.Close()
		return err
	}
	return nil
}

// replay applies the records after the checkpoint and exports those after the usage
// database's head, which may start before the checkpoint. Every record's time raises the
// clock's high-water mark.
func (e *Engine) replay(a *applier) error {
	from := a.d.applied + 1
	if a.batcher != nil {
		from = max(min(from, a.batcher.ExportedSeq()+1), e.log.FirstSeq())
		if err := e.reconcileUsage(a, from); err != nil {
			return err
		}
	}
	return e.log.Records(from, e.log.LastSeq(), func(seq uint64, b []byte) error {
		rec, err := a.dec.Decode(b)
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", e.walDir, seq, err)
		}
		e.clk.advance(rec.Time())
		if seq > a.d.applied {
			err = a.d.apply(seq, rec, a.sink())
		} else {
			err = a.d.actions(seq, rec, a.emit)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.walDir, err)
		}
		return a.advance(seq) // a long backlog is written in bounded steps, as in a pass
	})
}

// buildLive makes the live engine what the durable state says.
func (e *Engine) buildLive(d *durable) error {
	for _, p := range d.products {
		e.installProduct(p)
	}
	ls := make([]*record.License, 0, len(d.licenses))
	for _, l := range d.licenses {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b *record.License) int {
		return cmp.Or(cmp.Compare(a.Created, b.Created), strings.Compare(a.ID, b.ID))
	})
	for _, dl := range ls {
		ref := e.products[dl.ProductID]
		if ref == nil {
			return fmt.Errorf("%s: license %s names unknown product %s", e.walDir, dl.ID, dl.ProductID)
		}
		l := e.installLicense(dl.ID, dl.Owner, dl.Item, dl.Created, ref)
		held := d.held[dl.ID] // a pooled license's counters hold what was leased here, unconsumed
		for i, c := range dl.Credits {
			used := c.Used
			if held != nil {
				used = c.UseCount - held[i]
			}
			l.addCredit(creditMeta{c.ID, c.TxItemID, c.Window}, c.UseCount, used)
		}
		if held != nil {
			moved := make([]int64, len(held))
			for i, c := range dl.Credits {
				moved[i] = held[i] + c.Used
			}
			l.pool = newPooled(e.lowWaterMark(), moved)
		}
	}
	for k, s := range d.sessions {
		e.sessions.Put(k, s.LastActive, s.User, s.Host, s.IP)
	}
	d.onIdem, d.onTx = nil, nil
	return nil
}

// makeDataDir creates the data directory (0700) or checks the one there: a directory group or
// others may write to lets them swap the log, the state or the usage database underneath the
// agent.
func makeDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("data dir %s: mode %04o lets group or others write to it; chmod go-w %s", dir, perm, dir)
	}
	return nil
}

func walDurability(d config.Durability) wal.Durability {
	if d == config.DurabilityAsync {
		return wal.Async
	}
	return wal.Sync
}

// walLogger passes on what the log and Pebble say: failures as warnings, the rest (Pebble's
// chatter about files and compactions) at debug level.
func (e *Engine) walLogger(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	level := slog.LevelDebug
	if strings.Contains(msg, "fail") || strings.Contains(msg, "error") || strings.Contains(msg, "corrupt") {
		level = slog.LevelWarn
	}
	e.logger.Log(context.Background(), level, msg, "component", "wal")
}

// loadOrCreateKey reads the usage key, creating it (0600) on the first start.
func loadOrCreateKey(path string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err := export.GenerateKey(path); err != nil {
			return nil, fmt.Errorf("usage key: %w", err)
		}
	}
	key, err := export.LoadKey(path)
	if err != nil {
		return nil, fmt.Errorf("usage key: %w", err)
	}
	return key, nil
}
