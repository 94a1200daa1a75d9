package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/meterd/meterd/core/config"
)

var errHelp = errors.New("help requested")

// loadConfig builds the configuration: defaults, then the -config file, then flags, which
// win over the file. Errors name the file, line and key (or the flag).
func loadConfig(args []string, stderr io.Writer) (config.Config, error) {
	fs := flag.NewFlagSet("meterd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config `file` of KEY = value lines")
	keyOf := make(map[string]string)
	for _, k := range config.Keys() {
		fs.String(k.Flag, "", k.Usage+" ("+k.Key+")")
		keyOf[k.Flag] = k.Key
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: meterd [-config FILE] [flags]\n\nEvery config key has a flag; a flag wins over the file.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, errHelp
		}
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := config.Default()
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return config.Config{}, err
		}
		if err := config.Parse(*configPath, data, &cfg); err != nil {
			return config.Config{}, err
		}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if key, ok := keyOf[f.Name]; ok && err == nil {
			if serr := cfg.Set(key, f.Value.String()); serr != nil {
				err = &config.Error{File: "flag -" + f.Name, Key: key, Err: serr}
			}
		}
	})
	if err != nil {
		return config.Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}
