package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/meterd/meterd/export"
)

// runSign prints the Meterd-Signature value of one provisioning request: meterctl sign -key
// vendor.sign -method POST -path /organizations/ID/license-transactions order.json. The body
// sent must be the file's bytes exactly (curl --data-binary @order.json): the signature covers
// them, not the JSON they spell.
func runSign(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sign", "-key FILE -method METHOD -path PATH FILE", stdout, stderr)
	keyPath := fs.String("key", "", "the vendor's private signing key `file` (meterctl signkey)")
	method := fs.String("method", "", "the request's `method`: PUT for /products/ID, POST for license transactions")
	path := fs.String("path", "", "the request's `path`, as in /organizations/ID/license-transactions (no query)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	switch {
	case *keyPath == "":
		return fs.badUsage("-key is required")
	case !isMethod(*method):
		return fs.badUsage("-method %q: want an HTTP method in capitals, such as PUT or POST", *method)
	case !strings.HasPrefix(*path, "/") || strings.ContainsAny(*path, "?# \t\r\n"):
		return fs.badUsage("-path %q: want the path alone, starting with /, as the agent sees it", *path)
	case fs.NArg() != 1:
		return fs.badUsage("want one file holding the request body (- for standard input), got %d arguments", fs.NArg())
	}
	key, err := export.LoadVendorPrivateKey(*keyPath)
	if err != nil {
		return fs.fail(err)
	}
	body, err := readBody(fs.Arg(0))
	if err != nil {
		return fs.fail(err)
	}
	fmt.Fprintln(stdout, export.SignRequest(key, *method, *path, body))
	return exitOK
}

func isMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func readBody(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}
