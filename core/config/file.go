package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is returned by Config.Set for a key the configuration does not have.
var ErrUnknownKey = errors.New("unknown key")

// Error locates a bad line of a config file. Line is 0 for a value that came from
// somewhere else (a flag).
type Error struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Key != "":
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Key, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.File, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KeyInfo describes one configuration key for flag definitions and documentation.
type KeyInfo struct {
	Key     string // as in the file: USAGE_WRITE_INTERVAL
	Flag    string // as a flag: usage-write-interval
	Usage   string
	Type    string // what the value is: "string", "int" or "duration" (the flag package's names)
	Default string // the default in the file's syntax; "" when derived from another key (Usage says how) or unset
}

// Keys lists every configuration key.
func Keys() []KeyInfo {
	def := Default()
	out := make([]KeyInfo, len(configKeys))
	for i, k := range configKeys {
		out[i] = KeyInfo{Key: k.name, Flag: FlagName(k.name), Usage: k.usage, Type: k.typ, Default: k.get(&def)}
	}
	return out
}

// FlagName is the flag spelling of a config key: lower case, '-' for '_'.
func FlagName(key string) string {
	return strings.ReplaceAll(strings.ToLower(key), "_", "-")
}

// Set assigns one key (case-insensitive) from its text form.
func (c *Config) Set(key, value string) error {
	for _, k := range configKeys {
		if strings.EqualFold(k.name, key) {
			return k.set(c, value)
		}
	}
	return ErrUnknownKey
}

// Parse applies the KEY = value lines of a config file named name to c. Blank lines
// and lines starting with '#' are ignored, as is a '#' comment after white space. A value
// may be wrapped in double quotes. Errors are *Error naming file, line and key.
func Parse(name string, data []byte, c *Config) error {
	seen := make(map[string]int)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		key, value, ok, err := splitLine(sc.Text())
		if err != nil {
			return &Error{File: name, Line: n, Err: err}
		}
		if !ok {
			continue
		}
		canon := strings.ToUpper(key)
		if first, dup := seen[canon]; dup {
			return &Error{name, n, key, fmt.Errorf("set twice (first on line %d)", first)}
		}
		seen[canon] = n
		if err := c.Set(key, value); err != nil {
			return &Error{name, n, key, err}
		}
	}
	if err := sc.Err(); err != nil {
		return &Error{File: name, Err: err}
	}
	return nil
}

// splitLine returns ok=false for blank and comment lines. A value in double quotes runs to
// the last quote on the line and may hold '#' and surrounding spaces; an unquoted value ends
// at a '#' that follows white space.
func splitLine(line string) (key, value string, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", "", false, nil
	}
	key, rest, found := strings.Cut(line, "=")
	key, rest = strings.TrimSpace(key), strings.TrimSpace(rest)
	if !found || key == "" {
		return "", "", false, fmt.Errorf("want KEY = value, got %q", line)
	}
	if strings.ContainsAny(key, " \t") {
		return "", "", false, fmt.Errorf("key %q contains white space", key)
	}
	if !strings.HasPrefix(rest, `"`) {
		return key, strings.TrimSpace(cutComment(rest)), true, nil
	}
	end := strings.LastIndexByte(rest, '"')
	if end == 0 {
		return "", "", false, fmt.Errorf("%s: unterminated quote", key)
	}
	if after := strings.TrimSpace(rest[end+1:]); after != "" && after[0] != '#' {
		return "", "", false, fmt.Errorf("%s: text after the closing quote", key)
	}
	return key, rest[1:end], true, nil
}

// cutComment cuts a '#' that follows white space, so that an unquoted value such as a path
// may still contain '#'.
func cutComment(v string) string {
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			return v[:i]
		}
	}
	return v
}

// String writes c as a config file that ParseConfig reads back into the same Config.
// Derived defaults are written as comments so they stay derived.
func (c Config) String() string {
	var b strings.Builder
	for _, k := range configKeys {
		if v := k.get(&c); v != "" {
			fmt.Fprintf(&b, "%s = %s\n", k.name, quoteIfNeeded(v))
			continue
		}
		fmt.Fprintf(&b, "# %s = (default: %s)\n", k.name, k.usage)
	}
	return b.String()
}

// quoteIfNeeded keeps values with surrounding space, a '#' or a leading quote intact.
func quoteIfNeeded(v string) string {
	if strings.TrimSpace(v) != v || strings.Contains(v, "#") || strings.HasPrefix(v, `"`) {
		return `"` + v + `"`
	}
	return v
}
