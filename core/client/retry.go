package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// roundTrip sends cl until it gets an answer that is not worth another attempt, attempts run
// out, or ctx ends. See the package documentation for what is retried and why.
func (c *Client) roundTrip(ctx context.Context, cl *call) (reply, error) {
	for attempt := 1; ; attempt++ {
		r, err := c.send(ctx, cl)
		if err != nil {
			err = noAnswer(cl, err)
		}
		if attempt >= c.opt.Attempts || !c.retryable(ctx, cl, r, err) {
			return r, err
		}
		if werr := sleep(ctx, c.wait(attempt, r)); werr != nil {
			if err == nil {
				err = apiError(cl, r)
			}
			return reply{}, fmt.Errorf("%w (no retry: %w)", err, werr)
		}
	}
}

// retryable says whether another attempt is safe and may get a better answer.
func (c *Client) retryable(ctx context.Context, cl *call, r reply, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return cl.replayable || neverSent(err)
	}
	return r.status == http.StatusServiceUnavailable && !cl.answer503
}

// neverSent reports a failure to connect: nothing reached meterd, so any call may be repeated.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// wait is the pause before attempt+1: Backoff doubled per attempt made, at least what a
// Retry-After asks, at most MaxBackoff, with jitter so that clients turned away together do
// not come back together.
func (c *Client) wait(attempt int, r reply) time.Duration {
	d := c.opt.Backoff << min(attempt-1, 20)
	d = min(max(d, retryAfter(r.header)), c.opt.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d unless ctx ends first; it does not start a wait that ctx's deadline would cut
// short, since the attempt after it could not be made.
func sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
