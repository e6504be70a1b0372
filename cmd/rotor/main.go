// Command rotor is the Rotor token server and its administration CLI.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rotor: "+oneLine(err.Error()))
		os.Exit(1)
	}
}

// run executes the CLI; it is main without the process around it, so tests
// can call it.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRootCommand(environ, stdin, stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		return foldedError{err}
	}
	return nil
}

// foldedError keeps run's errors on one line (cobra's unknown-command error
// appends multi-line suggestions) while errors.Is and errors.As still see
// the original.
type foldedError struct{ err error }

func (e foldedError) Error() string { return oneLine(e.err.Error()) }
func (e foldedError) Unwrap() error { return e.err }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
