package pgarrow

import (
	"errors"
	"fmt"
	"strings"
)

// Error reports a stream that cannot be decoded, or a batch that cannot be encoded, and where.
// Its message never quotes a value: values may be personal data, and errors end up in logs.
type Error struct {
	Op     string // "decode" or "encode"
	Row    int64  // 1-based row number within the stream; 0 when not about a row (header, trailer)
	Column string // the column's name; "" when not about one column
	Type   string // the column's TypeName, when Column is set
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pgarrow: ")
	b.WriteString(e.Op)
	if e.Row > 0 {
		fmt.Fprintf(&b, " row %d", e.Row)
	}
	if e.Column != "" {
		if e.Row > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " column %q", e.Column)
		if e.Type != "" {
			fmt.Fprintf(&b, " (%s)", e.Type)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNonCanonical is wrapped by the errors for values that are well-formed but not in the form
// PostgreSQL sends, and so could not be re-encoded to the same bytes.
var ErrNonCanonical = errors.New("not in the form PostgreSQL sends")

// ErrOutOfRange is wrapped by the errors for values the target type cannot hold.
var ErrOutOfRange = errors.New("out of range")
