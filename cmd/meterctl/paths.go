package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// usagePaths expands the usage databases given: a directory stands for the .db files in it
// (not its subdirectories), sorted by name, as the customer's segments sit side by side.
func usagePaths(args []string) ([]string, error) {
	var out []string
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err != nil || !fi.IsDir() {
			out = append(out, arg) // a file, or an error the reader names
			continue
		}
		ents, err := os.ReadDir(arg)
		if err != nil {
			return nil, err
		}
		var found []string
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".db") {
				found = append(found, filepath.Join(arg, e.Name()))
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no usage database (*.db) in the directory", arg)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}
