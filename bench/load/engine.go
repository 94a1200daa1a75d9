package main

import (
	"unsafe"

	"github.com/meterd/meterd/core"
)

// engineLoad calls Engine.Consume directly, without HTTP: row (g) of compare and the memory
// scenario. Comparing it with the HTTP rows splits meterd's cost between the engine and the
// network path.
type engineLoad struct {
	e   *core.Engine
	mix *mix
}

func (l *engineLoad) worker(id int) (worker, error) {
	return &engineWorker{e: l.e, mix: l.mix, gen: newBodyGen(l.mix, id)}, nil
}

type engineWorker struct {
	e   *core.Engine
	mix *mix
	gen *bodyGen
	key []byte
}

func (w *engineWorker) do(t *tally) {
	i, u := w.gen.item()
	req := core.ConsumeRequest{Owner: w.mix.owner, Item: w.mix.items[i], Units: u, User: "alice", Host: "ws-17"}
	if w.gen.keyed() {
		// The engine copies what it keeps of a request, so the key may alias w.key.
		w.key = w.gen.appendKey(w.key[:0])
		req.IdempotencyKey = unsafe.String(unsafe.SliceData(w.key), len(w.key))
	}
	var ans core.Answer
	err := w.e.Consume(&req, &ans)
	switch {
	case err != nil:
		t.unexpected("consume: %v", err)
	case ans.Granted:
		t.grants++
		t.decisions++
	default:
		t.denies++
		t.decisions++
	}
}

func (w *engineWorker) close() {}
