package config_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/export"
)

func TestParseConfig(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		path := filepath.Join("testdata", "valid.cfg")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		if err := config.Parse(path, data, &cfg); err != nil {
			t.Fatal(err)
		}
		want := config.Config{Listen: "127.0.0.1:9999", DataDir: "/var/lib/meter d", UsageDatabase: "off",
			UsageLevel: export.Detailed, UsageWriteInterval: 250, UsageKeyFile: "/etc/meterd/usage.key",
			Durability: config.DurabilityAsync, AdminTokenFile: "/etc/meterd/admin#1.token",
			SessionTimeout: 15 * time.Minute, IdempotencyTTL: 48 * time.Hour, IdempotencyMaxKeys: 5000,
			AllowedHosts: "localhost,::1,agent.internal", HeaderTimeout: 5 * time.Second, BodyTimeout: 20 * time.Second,
			IdleTimeout: 5 * time.Minute, MaxConns: 512, MaxSessions: 2000, LogFormat: config.LogJSON, LogLevel: slog.LevelDebug,
			PoolEndpoints: "http://127.0.0.1:2379,http://127.0.0.1:22379", PoolBlock: 250, PoolLeaseTTL: 4 * time.Second}
		if cfg != want {
			t.Fatalf("got %+v\nwant %+v", cfg, want)
		}
		if got := cfg.UsageDatabasePath(); got != "" {
			t.Fatalf("USAGE_DATABASE = off: path %q, want none", got)
		}
	})

	// Each file in testdata has one mistake; the error names the file, line and key.
	f := func(file string, line int, key, want string) {
		t.Helper()
		path := filepath.Join("testdata", file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		err = config.Parse(path, data, &cfg)
		var ce *config.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s: got %v, want a *ConfigError", file, err)
		}
		if ce.File != path || ce.Line != line || ce.Key != key {
			t.Fatalf("%s: got file %q line %d key %q, want %q %d %q", file, ce.File, ce.Line, ce.Key, path, line, key)
		}
		if msg := err.Error(); !strings.Contains(msg, want) || !strings.HasPrefix(msg, path) {
			t.Fatalf("%s: message %q does not start with the path or lacks %q", file, msg, want)
		}
	}
	f("bad-level.cfg", 2, "USAGE_LEVEL", "verbose")
	f("unknown-key.cfg", 3, "FOO", "unknown key")
	f("zero-interval.cfg", 2, "USAGE_WRITE_INTERVAL", "whole number")
	f("bad-durability.cfg", 1, "DURABILITY", "sync or async")
	f("duration-without-unit.cfg", 1, "SESSION_TIMEOUT", "positive duration")
	f("duplicate-key.cfg", 2, "listen", "first on line 1")
	f("missing-equals.cfg", 1, "", "KEY = value")
	f("listen-without-port.cfg", 1, "LISTEN", "host:port")
	f("negative-ttl.cfg", 1, "IDEMPOTENCY_TTL", "positive duration")
	f("wildcard-allowed-host.cfg", 2, "ALLOWED_HOSTS", "*.example.com")
	f("zero-max-conns.cfg", 2, "MAX_CONNS", "whole number")
	f("idle-timeout-without-unit.cfg", 2, "IDLE_TIMEOUT", "positive duration")
	f("max-keys-not-whole.cfg", 1, "IDEMPOTENCY_MAX_KEYS", "whole number")
	f("bad-log-format.cfg", 2, "LOG_FORMAT", "text or json")
	f("pool-endpoint-without-scheme.cfg", 2, "POOL_ENDPOINTS", "etcd client URLs")
	f("pool-ttl-fraction.cfg", 1, "POOL_LEASE_TTL", "whole seconds")
	f("bad-log-level.cfg", 1, "LOG_LEVEL", "debug, info, warn or error")
}

// A bad value is named with the key, the value as written and every value the key takes.
func TestBadValueMessages(t *testing.T) {
	f := func(key, value, want string) {
		t.Helper()
		cfg := config.Default()
		err := config.Parse("meterd.cfg", []byte(key+" = "+value+"\n"), &cfg)
		if err == nil || err.Error() != want {
			t.Fatalf("%s = %s: got %v, want %s", key, value, err, want)
		}
	}
	f("USAGE_LEVEL", "chatty", `meterd.cfg:1: USAGE_LEVEL: want standard or detailed, got "chatty"`)
	f("USAGE_ROTATE", "weekly", `meterd.cfg:1: USAGE_ROTATE: want monthly, daily or off, got "weekly"`)
	f("LOG_FORMAT", "yaml", `meterd.cfg:1: LOG_FORMAT: want text or json, got "yaml"`)
	f("LOG_LEVEL", "trace", `meterd.cfg:1: LOG_LEVEL: want debug, info, warn or error, got "trace"`)
	f("LOG_LEVEL", "warn+2", `meterd.cfg:1: LOG_LEVEL: want debug, info, warn or error, got "warn+2"`)
	f("DURABILITY", "eventually", `meterd.cfg:1: DURABILITY: want sync or async, got "eventually"`)
}

// Each LOG_LEVEL name, in any case, is slog's level of that name; a level between them, set
// in code, fails Validate.
func TestLogLevels(t *testing.T) {
	for name, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warn": slog.LevelWarn, "error": slog.LevelError} {
		cfg := config.Default()
		if err := cfg.Set("log_level", name); err != nil || cfg.LogLevel != want {
			t.Errorf("LOG_LEVEL = %s: got %v, %v; want %v", name, cfg.LogLevel, err, want)
		}
	}
	cfg := config.Default()
	cfg.LogLevel = slog.LevelWarn + 2
	if err := cfg.Validate(); err == nil || err.Error() != `LOG_LEVEL: want debug, info, warn or error, got "WARN+2"` {
		t.Fatalf("got %v, want LOG_LEVEL refused", err)
	}
}

func TestConfigStringRoundTrip(t *testing.T) {
	f := func(cfg config.Config) {
		t.Helper()
		var got config.Config
		if err := config.Parse("string", []byte(cfg.String()), &got); err != nil {
			t.Fatalf("parse %q: %v", cfg.String(), err)
		}
		if got != cfg {
			t.Fatalf("round trip:\n%s\ngot  %+v\nwant %+v", cfg.String(), got, cfg)
		}
	}
	f(config.Default())
	cfg := config.Default()
	cfg.UsageDatabase, cfg.AdminTokenFile, cfg.DataDir = "/a b/usage.db", "/x/#token", " spaced "
	cfg.Durability, cfg.UsageLevel, cfg.SessionTimeout = config.DurabilityAsync, export.Detailed, 90*time.Second
	f(cfg)
	cfg.AllowedHosts, cfg.HeaderTimeout, cfg.BodyTimeout, cfg.IdleTimeout = "agent.internal,::1", time.Second, 2*time.Second, time.Minute
	cfg.MaxConns, cfg.IdempotencyMaxKeys, cfg.MaxSessions = 10, 20, 30
	f(cfg)
	cfg.LogFormat, cfg.LogLevel = config.LogJSON, slog.LevelError
	f(cfg)
	cfg.LogLevel = slog.LevelWarn
	f(cfg)
}

func TestConfigDerivedPaths(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = "/srv/meterd"
	if got, want := cfg.UsageDatabasePath(), "/srv/meterd/usage.db"; got != want {
		t.Errorf("usage db: got %q, want %q", got, want)
	}
	if got, want := cfg.UsageKeyPath(), "/srv/meterd/usage.key"; got != want {
		t.Errorf("usage key: got %q, want %q", got, want)
	}
	if got, want := cfg.AdminTokenPath(), "/srv/meterd/admin.token"; got != want {
		t.Errorf("admin token: got %q, want %q", got, want)
	}
}

func TestKeysHaveFlags(t *testing.T) {
	want := map[string]string{"LISTEN": "listen", "DATA_DIR": "data-dir", "USAGE_WRITE_INTERVAL": "usage-write-interval",
		"USAGE_ROTATE":     "usage-rotate",
		"ADMIN_TOKEN_FILE": "admin-token-file", "IDEMPOTENCY_TTL": "idempotency-ttl",
		"IDEMPOTENCY_MAX_KEYS": "idempotency-max-keys", "ALLOWED_HOSTS": "allowed-hosts", "HEADER_TIMEOUT": "header-timeout",
		"BODY_TIMEOUT": "body-timeout", "IDLE_TIMEOUT": "idle-timeout", "MAX_CONNS": "max-conns", "MAX_SESSIONS": "max-sessions",
		"VENDOR_PUBLIC_KEY_FILE": "vendor-public-key-file", "LOG_FORMAT": "log-format", "LOG_LEVEL": "log-level",
		"POOL_ENDPOINTS": "pool-endpoints", "POOL_BLOCK": "pool-block", "POOL_LEASE_TTL": "pool-lease-ttl"}
	got := map[string]string{}
	for _, k := range config.Keys() {
		got[k.Key] = k.Flag
	}
	if len(got) != 24 {
		t.Fatalf("got %d keys, want 24", len(got))
	}
	for k, f := range want {
		if got[k] != f {
			t.Errorf("%s: flag %q, want %q", k, got[k], f)
		}
	}
}

// Keys gives each key's type as its flag takes it, and its default in the file's syntax.
func TestKeysHaveTypesAndDefaults(t *testing.T) {
	want := map[string][2]string{
		"LISTEN": {"string", "127.0.0.1:8787"}, "DATA_DIR": {"string", "./meterd-data"}, "USAGE_DATABASE": {"string", ""},
		"USAGE_LEVEL": {"string", "standard"}, "USAGE_ROTATE": {"string", "off"}, "USAGE_WRITE_INTERVAL": {"int", "100"}, "USAGE_KEY_FILE": {"string", ""},
		"DURABILITY": {"string", "sync"}, "ADMIN_TOKEN_FILE": {"string", ""}, "SESSION_TIMEOUT": {"duration", "1h0m0s"},
		"IDEMPOTENCY_TTL": {"duration", "24h0m0s"}, "IDEMPOTENCY_MAX_KEYS": {"int", "1000000"}, "ALLOWED_HOSTS": {"string", ""},
		"HEADER_TIMEOUT": {"duration", "10s"}, "BODY_TIMEOUT": {"duration", "30s"}, "IDLE_TIMEOUT": {"duration", "2m0s"},
		"MAX_CONNS": {"int", "4096"}, "MAX_SESSIONS": {"int", "100000"}, "VENDOR_PUBLIC_KEY_FILE": {"string", ""},
		"LOG_FORMAT": {"string", "text"}, "LOG_LEVEL": {"string", "info"},
		"POOL_ENDPOINTS": {"string", ""}, "POOL_BLOCK": {"int", "1000"}, "POOL_LEASE_TTL": {"duration", "10s"},
	}
	keys := config.Keys()
	if len(keys) != len(want) {
		t.Fatalf("got %d keys, want %d", len(keys), len(want))
	}
	for _, k := range keys {
		if w := want[k.Key]; k.Type != w[0] || k.Default != w[1] {
			t.Errorf("%s: type %q default %q, want %q %q", k.Key, k.Type, k.Default, w[0], w[1])
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("LISTEN = 127.0.0.1:8787\n# c\nUSAGE_LEVEL = detailed\n"))
	f.Add([]byte("DATA_DIR = \"/x # y\" # z\nDURABILITY=async"))
	f.Add([]byte("=\n==\n\"\n#"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := config.Default()
		if err := config.Parse("fuzz", data, &cfg); err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		if cfg.Validate() != nil {
			return
		}
		var again config.Config
		if err := config.Parse("again", []byte(cfg.String()), &again); err != nil || again != cfg {
			t.Fatalf("round trip of %q: %v\ngot  %+v\nwant %+v", cfg.String(), err, again, cfg)
		}
	})
}
