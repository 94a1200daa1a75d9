package config

import (
	"fmt"
	"log/slog"
	"strings"
)

// LogFormat is how meterd writes its log lines on standard error: log/slog's text
// (key=value) or JSON handler, one record a line either way.
type LogFormat uint8

const (
	LogText LogFormat = iota
	LogJSON
)

func (f LogFormat) String() string {
	if f == LogJSON {
		return "json"
	}
	return "text"
}

func parseLogFormat(s string) (LogFormat, error) {
	switch strings.ToLower(s) {
	case "text":
		return LogText, nil
	case "json":
		return LogJSON, nil
	}
	return 0, fmt.Errorf("want text or json, got %q", s)
}

// logLevels are LOG_LEVEL's values, lowest first: slog's four levels by their names.
var logLevels = []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

func parseLogLevel(s string) (slog.Level, error) {
	for _, l := range logLevels {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("want debug, info, warn or error, got %q", s)
}

// logLevelName is LOG_LEVEL's spelling of l: slog's name in lower case.
func logLevelName(l slog.Level) string { return strings.ToLower(l.String()) }

// checkLogLevel refuses the levels between slog's four, which LOG_LEVEL cannot spell.
func checkLogLevel(l slog.Level) error {
	_, err := parseLogLevel(l.String())
	return err
}
