package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
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

// waitReady pings until the server answers and reads its version.
func (s *redisServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		info, err := s.call("INFO", "server")
		if err == nil {
			s.version = infoField(info.str, "redis_version")
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

func infoField(info []byte, name string) string {
	for line := range strings.Lines(string(info)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return "?"
}

// call runs one command on a connection of its own: for setup, not for load.
func (s *redisServer) call(args ...string) (reply, error) {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return reply{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(appendCommand(nil, args...)); err != nil {
		return reply{}, err
	}
	v, err := readReply(bufio.NewReader(c))
	if err == nil && v.kind == '-' {
		err = &RedisError{Msg: string(v.str)}
	}
	return v, err
}

// stop shuts the server down (SIGTERM) and removes its directory.
func (s *redisServer) stop() error {
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

// redisLoad sends EVALSHA of the consume script, one connection per worker.
type redisLoad struct {
	s    *redisServer
	sha  string
	keys []string // one balance per license of the mix
	mix  *mix
}

// newRedisLoad loads the script and sets one balance per license of m as large as meterd's.
func newRedisLoad(s *redisServer, m *mix) (*redisLoad, error) {
	v, err := s.call("SCRIPT", "LOAD", consumeScript)
	if err != nil {
		return nil, fmt.Errorf("script load: %w", err)
	}
	l := &redisLoad{s: s, sha: string(v.str), mix: m}
	for i := range m.items {
		key := "balance:" + strconv.Itoa(i)
		if _, err := s.call("SET", key, strconv.FormatInt(benchQuantity*benchCreditAmount, 10)); err != nil {
			return nil, fmt.Errorf("set %s: %w", key, err)
		}
		l.keys = append(l.keys, key)
	}
	return l, nil
}

func (l *redisLoad) serverCPU() time.Duration { return pidCPU(l.s.cmd.Process.Pid) }

func (l *redisLoad) worker(id int) (worker, error) {
	c, err := net.DialTimeout("tcp", l.s.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &redisWorker{l: l, c: c, r: bufio.NewReader(c), gen: newBodyGen(l.mix, id)}, nil
}

type redisWorker struct {
	l   *redisLoad
	c   net.Conn
	r   *bufio.Reader
	gen *bodyGen
	buf []byte
}

func (w *redisWorker) do(t *tally) {
	i, u := w.gen.item()
	b := appendArrayHeader(w.buf[:0], 5)
	b = appendBulkString(appendBulkString(b, "EVALSHA"), w.l.sha)
	b = appendBulkString(appendBulkString(b, "1"), w.l.keys[i])
	w.buf = appendBulkInt(b, u)
	if _, err := w.c.Write(w.buf); err != nil {
		t.fail(err)
		time.Sleep(time.Millisecond)
		return
	}
	n, err := readInt(w.r)
	switch {
	case err == nil && n < 0:
		t.denies++
		t.decisions++
	case err == nil:
		t.grants++
		t.decisions++
	case isRedisError(err):
		t.unexpected("%v", err)
	default:
		t.fail(err)
	}
}

func isRedisError(err error) bool {
	var rerr *RedisError
	return errors.As(err, &rerr)
}

func (w *redisWorker) close() { w.c.Close() }
