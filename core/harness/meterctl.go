package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/meterd/meterd/export"
)

// Meterctl is the vendor's tool, run from outside as the vendor runs it.
type Meterctl struct{ Path string }

// Run runs meterctl with args and returns its standard output; an error names the command and
// carries its output and standard error.
func (m Meterctl) Run(args ...string) ([]byte, error) {
	cmd := exec.Command(m.Path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("meterctl %s: %v: %s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out, nil
}

// Billed returns the units `meterctl report -format json` bills per item, summed over every
// owner and period, for the usage databases dbs verified with key.
func (m Meterctl) Billed(key string, dbs ...string) (map[string]int64, error) {
	out, err := m.Run(append([]string{"report", "-key", key, "-format", "json"}, dbs...)...)
	if err != nil {
		return nil, err
	}
	var rep struct {
		Totals []export.Total `json:"totals"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("meterctl report -format json: %w: %.200s", err, out)
	}
	units := map[string]int64{}
	for _, t := range rep.Totals {
		units[t.Item] += t.Units
	}
	return units, nil
}

// Sign writes body to file and returns the Meterd-Signature that `meterctl sign` makes over it
// for method and path with the vendor's signing key.
func (m Meterctl) Sign(key, method, path, file string, body []byte) (string, error) {
	if err := os.WriteFile(file, body, 0o644); err != nil {
		return "", err
	}
	out, err := m.Run("sign", "-key", key, "-method", method, "-path", path, file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
