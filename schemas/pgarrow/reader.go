package pgarrow

import (
	"encoding/binary"
	"io"
)

// bufSize is the I/O buffer of Decoder and Encoder; minBufSize is where the Decoder's starts.
const (
	bufSize    = 256 << 10
	minBufSize = 4 << 10
)

// reader is a buffered reader that hands out slices of its buffer. It is used instead of
// bufio.Reader because a field must be available whole and contiguous (bufio.Reader.Peek stops
// at its buffer size) and because the checks on the hot path must inline: a row of small fields
// costs a few comparisons, not a few calls per field. The buffer grows for a field larger than
// itself, but only as the field's bytes arrive, so a corrupt length cannot make it allocate a
// gigabyte up front.
type reader struct {
	r        io.Reader
	buf      []byte
	pos, end int   // unread bytes are buf[pos:end]
	err      error // the first error from r, returned once the buffer is drained
}

func newReader(r io.Reader) reader { return reader{r: r} }

// next returns the next n bytes, valid until the next call. At the end of the stream it
// returns io.ErrUnexpectedEOF, whether or not some bytes were left.
func (r *reader) next(n int) ([]byte, error) {
	if r.end-r.pos < n {
		if err := r.fill(n); err != nil {
			return nil, err
		}
	}
	b := r.buf[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *reader) uint16() (uint16, error) {
	if r.end-r.pos >= 2 {
		v := binary.BigEndian.Uint16(r.buf[r.pos:])
		r.pos += 2
		return v, nil
	}
	b, err := r.next(2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(b), nil
}

func (r *reader) uint32() (uint32, error) {
	if r.end-r.pos >= 4 {
		v := binary.BigEndian.Uint32(r.buf[r.pos:])
		r.pos += 4
		return v, nil
	}
	b, err := r.next(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// fill reads until at least n bytes are buffered.
func (r *reader) fill(n int) error {
	// The buffer starts small and doubles on each refill up to bufSize: a short stream (a
	// small table) does not pay for a large buffer, a long one reaches it after a few reads.
	if len(r.buf) < bufSize {
		nb := make([]byte, max(minBufSize, min(2*len(r.buf), bufSize)))
		r.end = copy(nb, r.buf[r.pos:r.end])
		r.buf, r.pos = nb, 0
	} else if r.pos > 0 {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
		r.pos = 0
	}
	empty := 0
	for r.end < n {
		if r.err != nil {
			if r.err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return r.err
		}
		if r.end == len(r.buf) {
			nb := make([]byte, min(2*len(r.buf), n))
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		r.err = err
		if m == 0 && err == nil {
			if empty++; empty >= 100 {
				r.err = io.ErrNoProgress
			}
		}
	}
	return nil
}

// atEOF reports whether the stream has no more bytes.
func (r *reader) atEOF() (bool, error) {
	if r.end > r.pos {
		return false, nil
	}
	switch err := r.fill(1); err {
	case nil:
		return false, nil
	case io.ErrUnexpectedEOF:
		return true, nil
	default:
		return false, err
	}
}
