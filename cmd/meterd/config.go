package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/meterd/meterd/core"
)

var errHelp = errors.New("help requested")

// loadConfig builds the configuration: defaults, then the -config file, then flags, which
// win over the file. Errors name the file, line and key (or the flag).
func loadConfig(args []string, stderr io.Writer) (core.Config, error) {
	fs := flag.NewFlagSet("meterd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config `file` of KEY = value lines")
	keyOf := make(map[string]string)
	for _, k := range core.Keys() {
		fs.String(k.Flag, "", k.Usage+" ("+k.Key+")")
		keyOf[k.Flag] = k.Key
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: meterd [-config FILE] [flags]\n\nEvery config key has a flag; a flag wins over the file.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return core.Config{}, errHelp
		}
		return core.Config{}, err
	}
	if fs.NArg() > 0 {
		return core.Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := core.DefaultConfig()
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return core.Config{}, err
		}
		if err := core.ParseConfig(*configPath, data, &cfg); err != nil {
			return core.Config{}, err
		}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if key, ok := keyOf[f.Name]; ok && err == nil {
			if serr := cfg.Set(key, f.Value.String()); serr != nil {
				err = &core.ConfigError{File: "flag -" + f.Name, Key: key, Err: serr}
			}
		}
	})
	if err != nil {
		return core.Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return core.Config{}, err
	}
	return cfg, nil
}
