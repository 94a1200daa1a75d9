package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/meterd/meterd/core"
	"github.com/valyala/fasthttp"
)

var batchItemsPool = sync.Pool{New: func() any { s := make([]core.BatchItem, 0, core.MaxBatch); return &s }}

// consumeBatch serves POST /v1/consume:batch: {"requests": [consume body + "idempotencyKey"]}
// answers 200 {"results": [...]}, one result per request in order, each with its own
// "status" (200 grant, 409 denial, or the 4xx/5xx of its error with "error" and "message").
func (s *Server) consumeBatch(ctx *fasthttp.RequestCtx, body []byte) {
	ip := batchItemsPool.Get().(*[]core.BatchItem)
	defer func() {
		clear(*ip)
		*ip = (*ip)[:0]
		batchItemsPool.Put(ip)
	}()
	peer := peerAddr(ctx)
	err := parseBatchBody(body, core.MaxBatch, func(fb *flatBody) error {
		*ip = append(*ip, core.BatchItem{Req: core.ConsumeRequest{Owner: fb.str[fieldOwner], Item: fb.str[fieldItem],
			License: fb.str[fieldLicense], Units: fb.units, Session: fb.str[fieldSession], User: fb.str[fieldUser],
			Host: fb.str[fieldHost], IP: fb.str[fieldIP], Peer: peer, IdempotencyKey: fb.str[fieldIdemKey]}})
		return nil
	})
	if err == nil {
		err = s.e.ConsumeBatch(*ip)
	}
	if err != nil {
		s.fail(ctx, err)
		return
	}
	b := append(responseBuf(ctx), `{"results":[`...)
	var refused error // an item's 429: the answer says when to retry, as a single one would
	for i := range *ip {
		if i > 0 {
			b = append(b, ',')
		}
		it := &(*ip)[i]
		b = appendBatchResult(b, it)
		if errors.Is(it.Err, core.ErrTooManyKeys) || errors.Is(it.Err, core.ErrTooManySessions) {
			refused = it.Err
		}
	}
	if refused != nil {
		s.setRetryAfter(ctx, refused)
	}
	writeJSONBuf(ctx, http.StatusOK, append(b, "]}"...))
}

func appendBatchResult(b []byte, it *core.BatchItem) []byte {
	if it.Err != nil {
		status, code := httpStatus(it.Err)
		b = strconv.AppendInt(append(b, `{"status":`...), int64(status), 10)
		b = appendJSONString(append(b, `,"error":`...), code)
		b = appendJSONString(append(b, `,"message":`...), it.Err.Error())
		return append(b, '}')
	}
	status := http.StatusOK
	if !it.Ans.Granted {
		status = http.StatusConflict
	}
	b = strconv.AppendInt(append(b, `{"status":`...), int64(status), 10)
	return append(appendAnswerFields(append(b, ','), &it.Ans), '}')
}
