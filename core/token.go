package core

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateToken reads the admin bearer token from path, creating a random one (mode 0600)
// when the file does not exist. The token is never logged.
func LoadOrCreateToken(path string, logger *slog.Logger) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createToken(path, logger)
	}
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("admin token: %s is empty", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 && logger != nil {
		logger.Warn("admin token file is readable by others; chmod 600", "path", path, "mode", fi.Mode().Perm().String())
	}
	return tok, nil
}

func createToken(path string, logger *slog.Logger) (string, error) {
	var b [32]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	_, werr := f.WriteString(tok + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if logger != nil {
		logger.Info("created admin token", "path", path)
	}
	return tok, nil
}
