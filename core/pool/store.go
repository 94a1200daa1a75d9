package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Errors callers branch on.
var (
	// ErrUnavailable: etcd did not answer in time (no quorum, or unreachable); the write may or
	// may not have happened, and the caller must find out before relying on either.
	ErrUnavailable = errors.New("pool unavailable")
	// ErrFenced: this agent was evicted; the incarnation that joined may not write any more.
	ErrFenced = errors.New("agent evicted from the pool")
	// ErrEmpty: no credit active now has free units.
	ErrEmpty = errors.New("pool has no free units")
	// ErrConflict: other writers kept changing the keys a transaction read; it gave up.
	ErrConflict = errors.New("pool keys changed concurrently")
	// ErrNotFound: no such license or agent in the pool.
	ErrNotFound = errors.New("not in the pool")
	// ErrAlive: evict refused, the agent's membership lease is held.
	ErrAlive = errors.New("agent is alive")
)

// DefaultPrefix is where the keys live unless Config.Prefix says otherwise.
const DefaultPrefix = "meterd/"

// Config says how to reach the pool.
type Config struct {
	Endpoints []string      // etcd client URLs
	Prefix    string        // "" → DefaultPrefix
	TTL       time.Duration // membership lease (POOL_LEASE_TTL); 0 → 10s
	// OpTimeout bounds each etcd call; past it the call fails with ErrUnavailable. 0 → 2s.
	OpTimeout time.Duration
}

// Store is a connection to the pool. Its methods are safe for concurrent use, but one agent's
// block operations are meant to come from one goroutine (core's refiller), which is what keeps
// its held keys and its write-ahead log in step.
type Store struct {
	cli    *clientv3.Client
	prefix string
	ttl    time.Duration
	opTO   time.Duration
}

// Open connects to the endpoints; it does not wait for a quorum.
func Open(cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("pool: no endpoints")
	}
	s := &Store{prefix: cfg.Prefix, ttl: cfg.TTL, opTO: cfg.OpTimeout}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.ttl <= 0 {
		s.ttl = 10 * time.Second
	}
	if s.opTO <= 0 {
		s.opTO = 2 * time.Second
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: s.opTO,
		// The client's own log goes nowhere: every failure it reports reaches the caller as an
		// error, which core logs once per period.
		Logger:               zap.NewNop(),
		DialKeepAliveTime:    time.Second,
		DialKeepAliveTimeout: time.Second,
		AutoSyncInterval:     0,
		RejectOldCluster:     false,
		PermitWithoutStream:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	s.cli = cli
	return s, nil
}

// Close ends the connection. It does not revoke the membership lease: Leave does.
func (s *Store) Close() error { return s.cli.Close() }

// Endpoints are the URLs the store was opened with.
func (s *Store) Endpoints() []string { return s.cli.Endpoints() }

func (s *Store) key(parts ...string) string { return s.prefix + strings.Join(parts, "/") }

// ctx bounds one etcd call.
func (s *Store) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.opTO)
}

// unavailable wraps an etcd error as ErrUnavailable, keeping its text.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// maxRetries bounds the rounds of read, compute, compare-and-write that one call makes when
// other writers keep winning.
const maxRetries = 64
