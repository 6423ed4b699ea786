package pipeline

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Transient reports whether err is a fault that a fresh connection may not meet again: the
// connection was reset, closed or cut, the server terminated the backend (admin_shutdown,
// crash_shutdown, cannot_connect_now, as pg_terminate_backend and a restart do), the
// connection class 08, or the transaction lost a serialization_failure or deadlock_detected.
// It judges by the error's type and SQLSTATE, never by its text.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var u *OutcomeUnknown
	if errors.As(err, &u) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "40001", "40P01":
			return true
		}
		return len(pe.Code) == 5 && pe.Code[:2] == "08"
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// OutcomeUnknown wraps a fault after which the sink cannot tell whether its write took
// effect: a connection lost after the whole of a unit's COPY was sent, while its commit's
// answer was awaited. Copying the unit again could load its rows twice, so it is never
// retried (Transient says no): the run fails and the target stays marked incomplete.
type OutcomeUnknown struct{ Err error }

func (e *OutcomeUnknown) Error() string {
	return e.Err.Error() + " (the connection was lost after all the unit's rows were sent: whether they were committed cannot be known, so the unit is not copied again)"
}

func (e *OutcomeUnknown) Unwrap() error { return e.Err }

// maxFaultRetries bounds the copies of one unit after transient faults.
const maxFaultRetries = 5

// faultBackoff is the wait before retry n (1, 2, …): 250 ms doubled each time up to 8 s,
// jittered by ±50 % so workers that met the same fault do not reconnect in step.
func faultBackoff(n int) time.Duration {
	d := min(250*time.Millisecond<<(n-1), 8*time.Second)
	return d/2 + rand.N(d)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
