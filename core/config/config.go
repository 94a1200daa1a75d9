package config

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd/export"
)

// Defaults of the configuration keys, as the README's configuration table states them.
const (
	DefaultListen             = "127.0.0.1:8787"
	DefaultDataDir            = "./meterd-data"
	DefaultUsageWriteInterval = 100
	DefaultSessionTimeout     = time.Hour
	DefaultIdempotencyTTL     = 24 * time.Hour
	DefaultIdempotencyMaxKeys = 1_000_000
	DefaultHeaderTimeout      = 10 * time.Second
	DefaultBodyTimeout        = 30 * time.Second
	DefaultIdleTimeout        = 2 * time.Minute
	DefaultMaxConns           = 4096
	DefaultMaxSessions        = 100_000
	DefaultPoolBlock          = 1000
	DefaultPoolLeaseTTL       = 10 * time.Second

	// UsageOff as USAGE_DATABASE disables the usage database.
	UsageOff = "off"
)

// Durability says when an answer may leave: after the fsync of its record (Sync) or once the
// record is written to the operating system (Async).
type Durability uint8

const (
	DurabilitySync Durability = iota
	DurabilityAsync
)

func (d Durability) String() string {
	if d == DurabilityAsync {
		return "async"
	}
	return "sync"
}

func parseDurability(s string) (Durability, error) {
	switch strings.ToLower(s) {
	case "sync":
		return DurabilitySync, nil
	case "async":
		return DurabilityAsync, nil
	}
	return 0, fmt.Errorf("want sync or async, got %q", s)
}

// Config is the agent's configuration. Empty path fields mean "derived from DataDir"; use the
// *Path methods to read them.
type Config struct {
	Listen             string
	DataDir            string
	UsageDatabase      string // "" → <DataDir>/usage.db; UsageOff disables
	UsageLevel         export.Level
	UsageRotate        export.Rotation // RotateOff by default
	UsageWriteInterval int
	UsageKeyFile       string // "" → <DataDir>/usage.key
	Durability         Durability
	AdminTokenFile     string // "" → <DataDir>/admin.token
	SessionTimeout     time.Duration
	IdempotencyTTL     time.Duration
	IdempotencyMaxKeys int
	AllowedHosts       string // comma-separated, lower case; "" → DefaultAllowedHosts plus LISTEN's host
	HeaderTimeout      time.Duration
	BodyTimeout        time.Duration
	IdleTimeout        time.Duration
	MaxConns           int
	MaxSessions        int
	// VendorPublicKeyFile: "" → provisioning needs the admin token alone; else products and
	// license transactions must also carry the vendor's signature (core/vendorsig).
	VendorPublicKeyFile string
	// PoolEndpoints: "" → licenses live in this agent alone; else comma-separated etcd client
	// URLs of the shared pool (core/pool), and every product and license lives there.
	PoolEndpoints string
	PoolBlock     int           // units leased from a pooled license at a time
	PoolLeaseTTL  time.Duration // etcd lease of this agent's pool membership
	LogFormat     LogFormat
	LogLevel      slog.Level // one of slog's four: Debug, Info, Warn, Error
}

// Default returns the configuration meterd runs with when nothing is set.
func Default() Config {
	return Config{
		Listen:             DefaultListen,
		DataDir:            DefaultDataDir,
		UsageLevel:         export.Standard,
		UsageWriteInterval: DefaultUsageWriteInterval,
		Durability:         DurabilitySync,
		SessionTimeout:     DefaultSessionTimeout,
		IdempotencyTTL:     DefaultIdempotencyTTL,
		IdempotencyMaxKeys: DefaultIdempotencyMaxKeys,
		HeaderTimeout:      DefaultHeaderTimeout,
		BodyTimeout:        DefaultBodyTimeout,
		IdleTimeout:        DefaultIdleTimeout,
		MaxConns:           DefaultMaxConns,
		MaxSessions:        DefaultMaxSessions,
		PoolBlock:          DefaultPoolBlock,
		PoolLeaseTTL:       DefaultPoolLeaseTTL,
		LogFormat:          LogText,
		LogLevel:           slog.LevelInfo,
	}
}

// UsageDatabasePath is where the usage database lives, or "" when it is off.
func (c *Config) UsageDatabasePath() string {
	switch {
	case strings.EqualFold(c.UsageDatabase, UsageOff):
		return ""
	case c.UsageDatabase == "":
		return filepath.Join(c.DataDir, "usage.db")
	}
	return c.UsageDatabase
}

// UsageKeyPath is the HMAC key file of the usage database.
func (c *Config) UsageKeyPath() string { return orDerived(c.UsageKeyFile, c.DataDir, "usage.key") }

// AdminTokenPath is the bearer token file of the admin API.
func (c *Config) AdminTokenPath() string {
	return orDerived(c.AdminTokenFile, c.DataDir, "admin.token")
}

func orDerived(set, dir, name string) string {
	if set != "" {
		return set
	}
	return filepath.Join(dir, name)
}

// Validate checks what single keys cannot check on their own.
func (c *Config) Validate() error {
	for _, k := range configKeys {
		if err := k.check(c); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	return nil
}

// configKey binds one key of the config file (and its flag) to a Config field.
type configKey struct {
	name  string
	typ   string // typeString, typeInt or typeDuration: what its flag takes
	usage string
	set   func(c *Config, v string) error
	get   func(c *Config) string // "" for a derived default, which String leaves out
	check func(c *Config) error
}

// The value types of the keys, named as the flag package names them in -h.
const (
	typeString   = "string"
	typeInt      = "int"
	typeDuration = "duration"
)

// configKeys lists every key in the order String writes them.
var configKeys = []configKey{
	{"LISTEN", typeString, "address of the HTTP API, /metrics and /healthz",
		func(c *Config, v string) error { c.Listen = v; return checkListen(v) },
		func(c *Config) string { return c.Listen },
		func(c *Config) error { return checkListen(c.Listen) }},
	{"DATA_DIR", typeString, "directory of the Pebble state and WAL",
		func(c *Config, v string) error { c.DataDir = v; return checkNonEmpty(v) },
		func(c *Config) string { return c.DataDir },
		func(c *Config) error { return checkNonEmpty(c.DataDir) }},
	{"USAGE_DATABASE", typeString, "the signed SQLite usage database (default <DATA_DIR>/usage.db); off disables it",
		func(c *Config, v string) error { c.UsageDatabase = v; return checkNonEmpty(v) },
		func(c *Config) string { return c.UsageDatabase },
		noCheck},
	{"USAGE_LEVEL", typeString, "standard (aggregated, no user data) or detailed (one row per action)",
		func(c *Config, v string) (err error) {
			if c.UsageLevel, err = export.ParseLevel(strings.ToLower(v)); err != nil {
				return fmt.Errorf("want standard or detailed, got %q", v)
			}
			return nil
		},
		func(c *Config) string { return c.UsageLevel.String() },
		noCheck},
	{"USAGE_ROTATE", typeString, "monthly, daily or off: seal the usage database at each UTC period's end into usage-<agent>-<period>.db and continue its chain in a new file",
		func(c *Config, v string) (err error) {
			if c.UsageRotate, err = export.ParseRotation(v); err != nil {
				return fmt.Errorf("want monthly, daily or off, got %q", v)
			}
			return nil
		},
		func(c *Config) string { return c.UsageRotate.String() },
		noCheck},
	{"USAGE_WRITE_INTERVAL", typeInt, "pay-per-use actions between writes to the usage database",
		func(c *Config, v string) (err error) { c.UsageWriteInterval, err = parseInterval(v); return err },
		func(c *Config) string { return strconv.Itoa(c.UsageWriteInterval) },
		func(c *Config) error { _, err := parseInterval(strconv.Itoa(c.UsageWriteInterval)); return err }},
	{"USAGE_KEY_FILE", typeString, "HMAC-SHA256 key shared with the vendor (default <DATA_DIR>/usage.key)",
		func(c *Config, v string) error { c.UsageKeyFile = v; return checkNonEmpty(v) },
		func(c *Config) string { return c.UsageKeyFile },
		noCheck},
	{"DURABILITY", typeString, "sync: answer after fsync; async: answer before fsync",
		func(c *Config, v string) (err error) { c.Durability, err = parseDurability(v); return err },
		func(c *Config) string { return c.Durability.String() },
		noCheck},
	{"ADMIN_TOKEN_FILE", typeString, "bearer token of the admin API (default <DATA_DIR>/admin.token)",
		func(c *Config, v string) error { c.AdminTokenFile = v; return checkNonEmpty(v) },
		func(c *Config) string { return c.AdminTokenFile },
		noCheck},
	{"SESSION_TIMEOUT", typeDuration, "an open session idle this long is checked in",
		func(c *Config, v string) (err error) { c.SessionTimeout, err = parsePositiveDuration(v); return err },
		func(c *Config) string { return c.SessionTimeout.String() },
		func(c *Config) error { return checkPositive(c.SessionTimeout) }},
	{"IDEMPOTENCY_TTL", typeDuration, "how long an Idempotency-Key is remembered",
		func(c *Config, v string) (err error) { c.IdempotencyTTL, err = parsePositiveDuration(v); return err },
		func(c *Config) string { return c.IdempotencyTTL.String() },
		func(c *Config) error { return checkPositive(c.IdempotencyTTL) }},
	{"IDEMPOTENCY_MAX_KEYS", typeInt, "Idempotency-Keys remembered at once; past it a keyed request gets 429 too_many_keys",
		func(c *Config, v string) (err error) {
			c.IdempotencyMaxKeys, err = parseCount(v, maxKeysLimit)
			return err
		},
		func(c *Config) string { return strconv.Itoa(c.IdempotencyMaxKeys) },
		func(c *Config) error { return checkCount(c.IdempotencyMaxKeys, maxKeysLimit) }},
	{"ALLOWED_HOSTS", typeString, "comma-separated Host names the API answers to (default localhost,127.0.0.1,::1 and LISTEN's host)",
		func(c *Config, v string) (err error) { c.AllowedHosts, err = parseHostList(v); return err },
		func(c *Config) string { return c.AllowedHosts },
		func(c *Config) error { return checkOptionalList(c.AllowedHosts, parseHostList) }},
	{"HEADER_TIMEOUT", typeDuration, "a request's headers must be complete this long after its first byte",
		func(c *Config, v string) (err error) { c.HeaderTimeout, err = parsePositiveDuration(v); return err },
		func(c *Config) string { return c.HeaderTimeout.String() },
		func(c *Config) error { return checkPositive(c.HeaderTimeout) }},
	{"BODY_TIMEOUT", typeDuration, "a request's body must be complete this long after its headers",
		func(c *Config, v string) (err error) { c.BodyTimeout, err = parsePositiveDuration(v); return err },
		func(c *Config) string { return c.BodyTimeout.String() },
		func(c *Config) error { return checkPositive(c.BodyTimeout) }},
	{"IDLE_TIMEOUT", typeDuration, "a connection with no request for this long is closed, without an answer",
		func(c *Config, v string) (err error) { c.IdleTimeout, err = parsePositiveDuration(v); return err },
		func(c *Config) string { return c.IdleTimeout.String() },
		func(c *Config) error { return checkPositive(c.IdleTimeout) }},
	{"MAX_CONNS", typeInt, "open connections at once; past it new connections are closed at once",
		func(c *Config, v string) (err error) { c.MaxConns, err = parseCount(v, maxConnsLimit); return err },
		func(c *Config) string { return strconv.Itoa(c.MaxConns) },
		func(c *Config) error { return checkCount(c.MaxConns, maxConnsLimit) }},
	{"MAX_SESSIONS", typeInt, "sessions open at once; past it a checkout gets 429 too_many_sessions",
		func(c *Config, v string) (err error) {
			c.MaxSessions, err = parseCount(v, maxSessionsLimit)
			return err
		},
		func(c *Config) string { return strconv.Itoa(c.MaxSessions) },
		func(c *Config) error { return checkCount(c.MaxSessions, maxSessionsLimit) }},
	{"VENDOR_PUBLIC_KEY_FILE", typeString, "Ed25519 public key of the vendor (meterctl signkey); when set, products and license transactions must carry its Meterd-Signature",
		func(c *Config, v string) error { c.VendorPublicKeyFile = v; return checkNonEmpty(v) },
		func(c *Config) string { return c.VendorPublicKeyFile },
		noCheck},
	{"POOL_ENDPOINTS", typeString, "comma-separated etcd client URLs of a shared pool; empty: licenses live in this agent alone",
		func(c *Config, v string) (err error) { c.PoolEndpoints, err = parseEndpoints(v); return err },
		func(c *Config) string { return c.PoolEndpoints },
		func(c *Config) error { return checkOptionalList(c.PoolEndpoints, parseEndpoints) }},
	{"POOL_BLOCK", typeInt, "the least an agent leases from a pooled license at a time (a lease asks for about a second of its use)",
		func(c *Config, v string) (err error) { c.PoolBlock, err = parseCount(v, maxPoolBlock); return err },
		func(c *Config) string { return strconv.Itoa(c.PoolBlock) },
		func(c *Config) error { return checkCount(c.PoolBlock, maxPoolBlock) }},
	{"POOL_LEASE_TTL", typeDuration, "etcd lease TTL of this agent's pool membership (whole seconds, at least 2s)",
		func(c *Config, v string) (err error) { c.PoolLeaseTTL, err = parseLeaseTTL(v); return err },
		func(c *Config) string { return c.PoolLeaseTTL.String() },
		func(c *Config) error { _, err := parseLeaseTTL(c.PoolLeaseTTL.String()); return err }},
	{"LOG_FORMAT", typeString, "text (key=value) or json, one record a line on standard error",
		func(c *Config, v string) (err error) { c.LogFormat, err = parseLogFormat(v); return err },
		func(c *Config) string { return c.LogFormat.String() },
		noCheck},
	{"LOG_LEVEL", typeString, "the least severe level logged: debug, info, warn or error",
		func(c *Config, v string) (err error) { c.LogLevel, err = parseLogLevel(v); return err },
		func(c *Config) string { return logLevelName(c.LogLevel) },
		func(c *Config) error { return checkLogLevel(c.LogLevel) }},
}

func noCheck(*Config) error { return nil }

// checkOptionalList checks a list setting that may be empty (the default) with its parser.
func checkOptionalList(v string, parse func(string) (string, error)) error {
	if v == "" {
		return nil
	}
	_, err := parse(v)
	return err
}

func checkNonEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("empty value")
	}
	return nil
}

func checkListen(v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("want host:port, got %q", v)
	}
	return nil
}

// maxWriteInterval keeps a misconfigured interval from buffering unbounded memory.
const maxWriteInterval = 10_000_000

func parseInterval(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxWriteInterval {
		return 0, fmt.Errorf("want a whole number from 1 to %d, got %q", maxWriteInterval, v)
	}
	return n, nil
}

// Upper limits of the counts, far above any sensible setting: they only stop a typo from
// reading as "no limit".
const (
	maxKeysLimit     = 1_000_000_000
	maxConnsLimit    = 1_000_000
	maxSessionsLimit = 1_000_000_000
	maxPoolBlock     = 1_000_000_000
)

func parseCount(v string, limit int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || checkCount(n, limit) != nil {
		return 0, fmt.Errorf("want a whole number from 1 to %d, got %q", limit, v)
	}
	return n, nil
}

func checkCount(n, limit int) error {
	if n < 1 || n > limit {
		return fmt.Errorf("want a whole number from 1 to %d, got %d", limit, n)
	}
	return nil
}

func parsePositiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a positive duration such as 30s, 15m or 1h, got %q", v)
	}
	return d, nil
}

func checkPositive(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("want a positive duration, got %s", d)
	}
	return nil
}
