package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// series is one sample line of the Prometheus text format: a metric name, its labels and a
// value. Timestamps, which meterd never writes, are accepted and dropped.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is one /metrics answer, by metric name.
type scrape map[string][]series

// errMetricLine says a line of the text format could not be read.
var errMetricLine = errors.New("soak: bad metrics line")

// parseMetrics reads the Prometheus text exposition format (version 0.0.4). It is strict about
// what it reads, so that a malformed exposition fails the soak instead of reading as zero.
func parseMetrics(text []byte) (scrape, error) {
	out := make(scrape)
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSeries(line)
		if err != nil {
			return nil, fmt.Errorf("%w %d: %v", errMetricLine, n, err)
		}
		out[s.name] = append(out[s.name], s)
	}
	return out, sc.Err()
}

func parseSeries(line string) (series, error) {
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return series{}, fmt.Errorf("no value in %q", line)
	}
	s := series{name: line[:i], labels: map[string]string{}}
	if !validName(s.name) {
		return series{}, fmt.Errorf("bad metric name %q", s.name)
	}
	rest := line[i:]
	if rest[0] == '{' {
		var err error
		if rest, err = parseLabels(rest[1:], s.labels); err != nil {
			return series{}, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return series{}, fmt.Errorf("want value [timestamp] after %q, got %q", s.name, rest)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return series{}, fmt.Errorf("value of %s: %v", s.name, err)
	}
	s.value = v
	return s, nil
}

// parseLabels reads `name="value",...}` into labels and returns what follows the brace.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || !validName(strings.TrimSpace(s[:eq])) || len(s) < eq+2 || s[eq+1] != '"' {
			return "", fmt.Errorf("bad label at %q", s)
		}
		name := strings.TrimSpace(s[:eq])
		value, rest, err := unquote(s[eq+2:])
		if err != nil {
			return "", err
		}
		if _, dup := labels[name]; dup {
			return "", fmt.Errorf("label %s repeated", name)
		}
		labels[name] = value
		s = strings.TrimLeft(rest, " \t")
		if strings.HasPrefix(s, ",") {
			s = s[1:]
		} else if !strings.HasPrefix(s, "}") {
			return "", fmt.Errorf("want , or } at %q", s)
		}
	}
}

// unquote reads a label value up to its closing quote, with the format's three escapes.
func unquote(s string) (value, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated escape")
			}
			i++
			switch s[i] {
			case '\\', '"':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			default:
				return "", "", fmt.Errorf("bad escape \\%c", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated label value")
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// value is the single sample of name, or the sum of its samples; ok says it was present.
func (s scrape) value(name string) (v float64, ok bool) {
	return s.sum(name, nil)
}

// sum adds the samples of name whose labels keep accepts (all when keep is nil).
func (s scrape) sum(name string, keep func(labels map[string]string) bool) (v float64, ok bool) {
	for _, x := range s[name] {
		if keep == nil || keep(x.labels) {
			v, ok = v+x.value, true
		}
	}
	return v, ok
}

// is5xx keeps meterd_requests_total samples whose code is a server error.
func is5xx(labels map[string]string) bool { return strings.HasPrefix(labels["code"], "5") }
