package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// consumeScript is the consume a Redis user would write: take ARGV[1] units from the balance
// at KEYS[1] only if that many remain; answer what remains, or -1 for a denial.
const consumeScript = `local b = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if b < n then return -1 end
return redis.call('DECRBY', KEYS[1], n)`

// redisServer is baseline (e): redis-server in a temporary directory on a free loopback
// port, fsyncing its append-only file before every answer (appendfsync always), as durable
// as meterd's DURABILITY = sync.
type redisServer struct {
	cmd     *exec.Cmd
	dir     string
	addr    string
	version string
	exited  chan error
	setup   *redis.Client // one connection, for setup, not for load
}

// startRedis runs bin; errNoRedis when it is not installed.
func startRedis(bin string) (*redisServer, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, errNoRedis
	}
	dir, err := os.MkdirTemp("", "meterd-load-redis-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &redisServer{dir: dir, addr: "127.0.0.1:" + strconv.Itoa(port), exited: make(chan error, 1)}
	s.cmd = exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", "redis.log")
	s.cmd.Dir = dir
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	s.setup = redis.NewClient(&redis.Options{Addr: s.addr, PoolSize: 1, DialTimeout: time.Second, ReadTimeout: 10 * time.Second})
	if err := s.waitReady(10 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

var errNoRedis = errors.New("redis-server is not installed")

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady asks until the server answers and reads its version.
func (s *redisServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		info, err := s.setup.Info(context.Background(), "server").Result()
		if err == nil {
			s.version = infoField(info, "redis_version")
			return nil
		}
		select {
		case werr := <-s.exited:
			return fmt.Errorf("redis-server exited: %v (see %s/redis.log)", werr, s.dir)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not answer within %v: %w", limit, err)
		}
	}
}

func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return "?"
}

// stop shuts the server down (SIGTERM) and removes its directory.
func (s *redisServer) stop() error {
	s.setup.Close()
	_ = s.cmd.Process.Signal(os.Interrupt)
	var err error
	select {
	case err = <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		err = errors.Join(errors.New("redis-server did not stop within 10s; killed"), <-s.exited)
	}
	if rerr := os.RemoveAll(s.dir); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return err
}

// redisLoad sends EVALSHA of the consume script, one pooled connection per worker.
type redisLoad struct {
	s    *redisServer
	rdb  *redis.Client
	sha  string
	keys []string // one balance per license of the mix
	mix  *mix
}

// newRedisLoad loads the script and sets one balance per license of m as large as meterd's.
func newRedisLoad(s *redisServer, m *mix, conns int) (*redisLoad, error) {
	ctx := context.Background()
	sha, err := s.setup.ScriptLoad(ctx, consumeScript).Result()
	if err != nil {
		return nil, fmt.Errorf("script load: %w", err)
	}
	l := &redisLoad{s: s, sha: sha, mix: m, rdb: redis.NewClient(&redis.Options{Addr: s.addr, PoolSize: conns,
		DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})}
	for i := range m.items {
		key := "balance:" + strconv.Itoa(i)
		if err := s.setup.Set(ctx, key, int64(benchQuantity*benchCreditAmount), 0).Err(); err != nil {
			l.rdb.Close()
			return nil, fmt.Errorf("set %s: %w", key, err)
		}
		l.keys = append(l.keys, key)
	}
	return l, nil
}

func (l *redisLoad) serverCPU() time.Duration { return pidCPU(l.s.cmd.Process.Pid) }

func (l *redisLoad) close() error { return l.rdb.Close() }

func (l *redisLoad) worker(id int) (worker, error) {
	return &redisWorker{l: l, gen: newBodyGen(l.mix, id), keys: make([]string, 1)}, nil
}

type redisWorker struct {
	l    *redisLoad
	gen  *bodyGen
	keys []string
}

func (w *redisWorker) do(t *tally) {
	i, u := w.gen.item()
	w.keys[0] = w.l.keys[i]
	n, err := w.l.rdb.EvalSha(context.Background(), w.l.sha, w.keys, u).Int64()
	var reply redis.Error // an error the server answered with
	switch {
	case err == nil && n < 0:
		t.denies++
		t.decisions++
	case err == nil:
		t.grants++
		t.decisions++
	case errors.As(err, &reply):
		t.unexpected("%v", err)
	default:
		t.fail(err)
		time.Sleep(time.Millisecond) // a refused connection fails at once; do not spin
	}
}

func (w *redisWorker) close() {}
