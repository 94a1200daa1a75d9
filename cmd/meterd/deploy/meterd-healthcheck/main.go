// Command meterd-healthcheck asks meterd's /healthz and exits 0 when it answers 200, else 1
// with the reason on standard error (2 for a bad flag). It is the container image's
// HEALTHCHECK: that image holds no shell and no HTTP client to ask with, and meterd itself
// only serves.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("meterd-healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8787/healthz", "meterd's /healthz")
	timeout := fs.Duration("timeout", 5*time.Second, "how long the whole check may take")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meterd-healthcheck: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	// No proxy: the check is of this meterd, not of whatever HTTP_PROXY names.
	c := &http.Client{Timeout: *timeout, Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Get(*url)
	if err != nil {
		fmt.Fprintf(stderr, "meterd-healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		fmt.Fprintf(stderr, "meterd-healthcheck: %s: %v\n", *url, err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "meterd-healthcheck: %s: %s %s\n", *url, resp.Status, bytes.TrimSpace(body))
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(body))
	return 0
}
