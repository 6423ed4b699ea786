// Package failure is where commands and jobs meet over what went wrong: the process exit
// codes README.md documents, and UserError, the one error type that reaches main, with its
// code and a hint. Every layer may return one (a sink refusing an unsafe target, a connection
// that fails, a bad configuration), so the package imports nothing of understudy's: it is a
// leaf any package may import without pointing upward.
package failure

import (
	"errors"
	"fmt"
)

// ExitCode is the process exit status for a kind of failure; README.md documents them.
type ExitCode int

const (
	ExitOK          ExitCode = 0
	ExitFailed      ExitCode = 1 // the run failed part-way; the target is marked incomplete
	ExitUsage       ExitCode = 2 // bad flags or configuration
	ExitConnect     ExitCode = 3 // a server could not be reached or refused the credentials
	ExitUnsafe      ExitCode = 4 // refused: target not empty, unfinished earlier run, or target is the source
	ExitTooling     ExitCode = 5 // pg_dump missing or older than the source server
	ExitBudget      ExitCode = 6 // a rehearsal broke a budget (understudy rehearse)
	ExitInterrupted ExitCode = 130
)

// UserError is the one error type that reaches main: what went wrong, the exit code, and a
// hint where one helps.
type UserError struct {
	Code ExitCode
	Err  error
	Hint string
}

func (e *UserError) Error() string { return e.Err.Error() }
func (e *UserError) Unwrap() error { return e.Err }

// Errorf builds a UserError.
func Errorf(code ExitCode, hint, format string, args ...any) error {
	return &UserError{Code: code, Err: fmt.Errorf(format, args...), Hint: hint}
}

// WithCode wraps err as a UserError unless it already is one.
func WithCode(code ExitCode, hint string, err error) error {
	var ue *UserError
	if errors.As(err, &ue) {
		return err
	}
	return &UserError{Code: code, Err: err, Hint: hint}
}
