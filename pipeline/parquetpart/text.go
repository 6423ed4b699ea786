package parquetpart

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// maxLine bounds one COPY text line, so that a batch's String data stays under Arrow's 2 GiB
// offset limit. PostgreSQL cannot send a larger row (a value is at most 1 GiB, escaped
// text at most twice that, but a row's text must fit in one 1 GiB buffer).
const maxLine = 1 << 30

// lineReader reads a text COPY stream as batches of one String column, one line per row,
// without the newline.
type lineReader struct {
	r        *bufio.Reader
	b        *array.StringBuilder
	schema   *arrow.Schema
	maxRows  int
	maxBytes int
	rows     int64
	long     []byte // a line longer than r's buffer, gathered
	err      error  // sticky; io.EOF at the end
	lastData int
}

func newLineReader(r io.Reader, o Options) *lineReader {
	return &lineReader{
		r:        bufio.NewReaderSize(r, 64<<10),
		b:        array.NewStringBuilder(o.Mem),
		schema:   arrow.NewSchema([]arrow.Field{{Name: TextColumn, Type: arrow.BinaryTypes.String}}, nil),
		maxRows:  min(batchRows, o.RowGroupRows),
		maxBytes: int(min(batchBytes, o.RowGroupBytes)),
	}
}

// Read returns the next batch of at least one line; the caller releases it. At the end of
// the stream it returns io.EOF; a stream whose last line has no newline gives an error, as
// storing it would add one on the way back. Errors are sticky.
func (l *lineReader) Read() (arrow.Record, error) {
	if l.err != nil {
		return nil, l.err
	}
	l.b.Reserve(l.maxRows)
	l.b.ReserveData(l.lastData)
	n, size := 0, 0
	for n < l.maxRows && size < l.maxBytes {
		line, err := l.line()
		if err != nil {
			l.err = err
			break
		}
		l.b.BinaryBuilder.Append(line)
		l.rows++
		n++
		size += len(line)
	}
	if l.err != nil && (l.err != io.EOF || n == 0) {
		l.b.NewArray().Release() // drop the partial batch
		return nil, l.err
	}
	l.lastData = l.b.DataLen()
	col := l.b.NewArray()
	defer col.Release()
	return array.NewRecord(l.schema, []arrow.Array{col}, int64(n)), nil
}

// line returns the next line without its newline, valid until the next call.
func (l *lineReader) line() ([]byte, error) {
	line, err := l.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(l.long) > maxLine {
				return nil, fmt.Errorf("text COPY line %d is longer than %d bytes", l.rows+1, maxLine)
			}
			line, err = l.r.ReadSlice('\n')
			l.long = append(l.long, line...)
		}
		line = l.long
	}
	switch {
	case err == io.EOF && len(line) == 0:
		return nil, io.EOF
	case err == io.EOF:
		return nil, fmt.Errorf("text COPY stream ends inside line %d, without a newline: %w", l.rows+1, io.ErrUnexpectedEOF)
	case err != nil:
		return nil, err
	}
	return line[:len(line)-1], nil
}

var errTextNull = errors.New("text-format part holds a NULL line")
