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
	"io/fs"
	"os"
	"strings"

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
	{"pool", "evict a dead agent from a shared pool, or list the live ones", runPool},
	{"version", "print the version, commit and Go version", runVersion},
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
		name, rest = rest[0], []string{"-h"}
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "meterctl: unknown command %q\nRun 'meterctl -h' for usage.\n", name)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: meterctl <command> [flags] [files]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'meterctl <command> -h' (or 'meterctl help <command>') for its flags.\n")
}

// cli is one subcommand's flags and where it writes: what -h asks for to standard output,
// mistakes and failures to standard error, each line starting "meterctl <command>: ".
type cli struct {
	*flag.FlagSet
	synopsis       string
	stdout, stderr io.Writer
}

func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *cli {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the flag package's own messages would repeat parse's
	fs.Usage = func() {}
	return &cli{FlagSet: fs, synopsis: synopsis, stdout: stdout, stderr: stderr}
}

// parse parses args. ok is false when the command should stop now with code: after -h (0,
// the usage on standard output) or a bad flag (2).
func (c *cli) parse(args []string) (code int, ok bool) {
	err := c.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(c.stdout, "usage: meterctl %s\n\n", strings.TrimSpace(c.Name()+" "+c.synopsis))
		c.SetOutput(c.stdout)
		c.PrintDefaults()
		c.SetOutput(io.Discard)
		return exitOK, false
	case err != nil:
		return c.badUsage("%s", flagMistake(err)), false
	}
	return exitOK, true
}

// parseOut parses the flags of a command that makes a key file: -o FILE, required, and no
// arguments. ok is false when the command should stop now with code.
func (c *cli) parseOut(args []string, usage string) (out string, code int, ok bool) {
	o := c.String("o", "", usage)
	if code, ok := c.parse(args); !ok {
		return "", code, false
	}
	switch {
	case *o == "":
		return "", c.badUsage("-o is required"), false
	case c.NArg() != 0:
		return "", c.badUsage("unexpected argument %q", c.Arg(0)), false
	}
	return *o, exitOK, true
}

// flagMistake rewords the flag package's parse errors as meterctl's own.
func flagMistake(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + name
	}
	return msg
}

// badUsage reports a mistake on the command line, and where the usage is.
func (c *cli) badUsage(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "meterctl %s: %s\nRun 'meterctl %s -h' for usage.\n", c.Name(), fmt.Sprintf(format, args...), c.Name())
	return exitUsage
}

// fail prints err and returns the exit code its kind calls for.
func (c *cli) fail(err error) int {
	fmt.Fprintf(c.stderr, "meterctl %s: %s\n", c.Name(), plain(err))
	return exitCode(err)
}

// plain drops the "export: " the package puts before its errors: the operator reads what is
// wrong with a file, not which package found it.
func plain(err error) string { return strings.ReplaceAll(err.Error(), "export: ", "") }

func exitCode(err error) int {
	var ve *export.VerifyError
	if errors.As(err, &ve) {
		return exitFailed
	}
	return exitUsage
}

// loadInputs loads the key and, if a path is given, the ledger.
func loadInputs(keyPath, ledgerPath string) ([]byte, *export.Ledger, error) {
	key, err := loadKey(keyPath)
	if err != nil || ledgerPath == "" {
		return key, nil, err
	}
	ledger, err := export.LoadLedger(ledgerPath)
	return key, ledger, err
}

// loadKey loads the shared key -key names, saying how to fix the two usual mistakes: a path
// that is not there, and the agent's data directory instead of the key in it.
func loadKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("-key %s: no such file; give the key the agent signs with (its USAGE_KEY_FILE, "+
			"usage.key in its data directory by default), or make one with meterctl keygen -o FILE", path)
	case err == nil && fi.IsDir():
		return nil, fmt.Errorf("-key %s is a directory, not a key file; give the key file itself "+
			"(the agent's is usage.key in its data directory by default)", path)
	}
	key, err := export.LoadKey(path)
	if err != nil {
		return nil, fmt.Errorf("-key: %w", err)
	}
	return key, nil
}
