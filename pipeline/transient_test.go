package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Which faults a unit is copied again after, decided by type and SQLSTATE: a lost or
// terminated connection and a lost serialization are; a cancelled run, an error in the data
// and a fault whose outcome cannot be known (all of a COPY sent, its commit unanswered) are
// not — copying that unit again could load its rows twice.
func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"terminated backend", &pgconn.PgError{Code: "57P01"}, true},
		{"serialization failure", fmt.Errorf("copy: %w", &pgconn.PgError{Code: "40001"}), true},
		{"connection class 08", &pgconn.PgError{Code: "08006"}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"bad data", &pgconn.PgError{Code: "22P02"}, false},
		{"cancelled run", fmt.Errorf("copy: %w", context.Canceled), false},
		{"nil", nil, false},
		{"outcome unknown", &OutcomeUnknown{Err: fmt.Errorf("write to target: %w", io.ErrUnexpectedEOF)}, false},
		{"outcome unknown, wrapped", fmt.Errorf("copy t: %w", &OutcomeUnknown{Err: &pgconn.PgError{Code: "57P01"}}), false},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("%s: Transient = %v, want %v", tc.name, got, tc.want)
		}
	}
	u := &OutcomeUnknown{Err: io.ErrUnexpectedEOF}
	if !errors.Is(u, io.ErrUnexpectedEOF) {
		t.Error("OutcomeUnknown does not unwrap to its cause")
	}
}
