package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd/core/config"
)

const (
	configUsage  = "read the configuration from `file`: one KEY = value a line"
	versionUsage = "print the version, commit and Go version, and exit"
	hint         = "Run 'meterd -h' for usage."
)

// printUsage writes what -h shows. The flags are listed by the flag package from a set that
// declares each with its key's type and default, so -h shows "-idle-timeout duration ...
// (default 2m0s)" as any Go program would, and as meterctl does.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: meterd [-config FILE] [flags]
       meterd -version

meterd is the usage-metering agent. Every configuration key has a flag: the key in lower
case, with - for _. A flag wins over the -config file; the file wins over the defaults.

`)
	show := flag.NewFlagSet("meterd", flag.ContinueOnError)
	show.SetOutput(w)
	show.String("config", "", configUsage)
	show.Bool("version", false, versionUsage)
	for _, k := range config.Keys() {
		usage := k.Key + ": " + k.Usage
		switch k.Type {
		case "int":
			n, _ := strconv.Atoi(k.Default)
			show.Int(k.Flag, n, usage)
		case "duration":
			d, _ := time.ParseDuration(k.Default)
			show.Duration(k.Flag, d, usage)
		default:
			show.String(k.Flag, k.Default, usage)
		}
	}
	show.PrintDefaults()
}

// flagMistake rewords the flag package's parse errors as meterd's own.
func flagMistake(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + name
	}
	return msg
}
