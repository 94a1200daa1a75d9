// Command meterctl is the vendor's and operator's tool for meterd usage
// databases: make the shared key, verify exports for tampering, and total
// them for billing; and make the vendor's signing key and sign the
// provisioning requests an agent with VENDOR_PUBLIC_KEY_FILE accepts.
//
// Exit codes: 0 success; 1 a file is tampered with or damaged, a ledger
// refuses it, or keygen refuses to overwrite; 2 bad usage, or a file that
// cannot be read or is not a usage database (2 wins when both happen).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/meterd/meterd/export"
)

const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// command is one subcommand; each lives in its own file with its own
// FlagSet.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is the dispatch table, in the order usage lists it.
var commands = []command{
	{"keygen", "make a new key shared by agent and vendor", runKeygen},
	{"verify", "check usage databases for tampering", runVerify},
	{"report", "total verified usage per owner, item and period", runReport},
	{"dump", "print every row of usage databases, each marked verified or not with -key", runDump},
	{"snapshot", "copy a live usage database consistently, to send it", runSnapshot},
	{"signkey", "make the vendor's key pair for signing provisioning requests", runSignkey},
	{"sign", "sign one provisioning request: print its Meterd-Signature value", runSign},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		name, rest, stderr = rest[0], []string{"-h"}, stdout // asked for: not an error
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "meterctl: unknown command %q\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: meterctl <command> [flags] [files]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'meterctl help <command>' for its flags.\n")
}

// newFlagSet returns a FlagSet whose usage shows synopsis, then the flags.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: meterctl %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs. ok is false when the command should stop now
// with code: after -h (0) or a bad flag (2); either way usage is printed.
// The flag package's own messages are silenced so that every error line
// starts with "meterctl: ".
func parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return exitOK, false
	case err != nil:
		return badUsage(fs, "%v", err), false
	}
	return exitOK, true
}

// badUsage reports a usage mistake, then the usage.
func badUsage(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "meterctl: %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return exitUsage
}

// fail prints err and returns the exit code its kind calls for.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "meterctl: %v\n", err)
	return exitCode(err)
}

func exitCode(err error) int {
	var ve *export.VerifyError
	if errors.As(err, &ve) {
		return exitFailed
	}
	return exitUsage
}

// loadInputs loads the key and, if a path is given, the ledger.
func loadInputs(keyPath, ledgerPath string) ([]byte, *export.Ledger, error) {
	key, err := export.LoadKey(keyPath)
	if err != nil || ledgerPath == "" {
		return key, nil, err
	}
	ledger, err := export.LoadLedger(ledgerPath)
	return key, ledger, err
}
