package httpapi

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

// MinTokenLen is the shortest admin token accepted: the token is all that stands between a
// local process and provisioning, so it must not be guessable.
const MinTokenLen = 32

// LoadOrCreateToken reads the admin bearer token from path, creating a random one (mode 0600)
// when the file does not exist. A file group or others may read, or a token shorter than
// MinTokenLen, is refused with the fix in the message. The token is never logged.
func LoadOrCreateToken(path string, logger *slog.Logger) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return createToken(path, logger)
	}
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("admin token: %s: mode %04o lets group or others read it; chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < MinTokenLen {
		return "", fmt.Errorf("admin token: %s holds %d characters, fewer than %d; write a longer random one, "+
			"or delete the file and meterd makes one", path, len(tok), MinTokenLen)
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
