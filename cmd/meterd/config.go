package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/meterd/meterd/core/config"
)

var (
	errHelp    = errors.New("help requested")
	errVersion = errors.New("version requested")
)

// usageError is a mistake on the command line itself (an unknown flag, a stray argument):
// meterd says what it was and points to -h.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// loadConfig builds the configuration: defaults, then the -config file, then flags, which
// win over the file. Errors name the file, line and key (or the flag).
func loadConfig(args []string) (config.Config, error) {
	fs := flag.NewFlagSet("meterd", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned and printed once, by run
	fs.Usage = func() {}
	configPath := fs.String("config", "", configUsage)
	showVersion := fs.Bool("version", false, versionUsage)
	keyOf := make(map[string]string)
	for _, k := range config.Keys() {
		fs.Var(new(rawValue), k.Flag, k.Usage)
		keyOf[k.Flag] = k.Key
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, errHelp
		}
		return config.Config{}, &usageError{flagMistake(err)}
	}
	switch {
	case *showVersion:
		return config.Config{}, errVersion
	case fs.NArg() > 0:
		return config.Config{}, &usageError{fmt.Sprintf("unexpected argument %q: meterd takes flags only", fs.Arg(0))}
	}
	cfg := config.Default()
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return config.Config{}, fmt.Errorf("-config %s: %w", *configPath, pathCause(err))
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

// rawValue keeps a config flag's text as given: the key's own parser checks it after the
// file is read, so a bad flag is reported as "flag -NAME: KEY: what is wrong", like a bad line.
type rawValue struct{ s string }

func (v *rawValue) String() string     { return v.s }
func (v *rawValue) Set(s string) error { v.s = s; return nil }

// pathCause drops the operation and path a *fs.PathError repeats.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
