// Package store holds the files of a snapshot under one location: a local directory or an
// S3 prefix. It knows nothing of what the files mean (see pipeline/snapshot); it moves
// bytes, streaming, with memory bounded by the implementation's buffers, never by a file's
// size.
//
// Implementations live in their own packages (dirstore, s3store) and all pass the
// conformance suite in storetest.
//
// What is stable, for programs that import it: the Store and Writer interfaces and their
// contracts as written here, Object and CheckName, and dirstore.New, s3store.New and
// s3store.NewFromConfig. A store of your own is a Store that passes storetest.Run.
package store

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

// Store is one location. Names are slash-separated paths relative to it
// ("data/public.customers/part-00000-000.parquet"); they never start with a slash.
// A Store is safe for concurrent use.
type Store interface {
	// Create starts writing the object name, replacing any object of that name once the
	// write completes. Nothing new is visible under name until Close returns nil: a reader
	// sees the old object or none, never a part. Abort discards what was written.
	Create(ctx context.Context, name string) (Writer, error)
	// Open reads the object name from the start. A missing object gives an error for which
	// errors.Is(err, fs.ErrNotExist) is true.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the objects whose names start with prefix ("" for all), sorted by name.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes the object name; a missing object is not an error.
	Delete(ctx context.Context, name string) error
	// CreateExclusive writes data as the object name only if no object of that name
	// exists, atomically: of several callers at once, in any process on any machine that
	// reaches the location, exactly one succeeds and the others get an error for which
	// errors.Is(err, fs.ErrExist) is true. The object is visible whole or not at all. It is
	// how a snapshot run takes a location's lock (see pipeline/snapshot), so a store that
	// cannot make this promise must not be a Store.
	CreateExclusive(ctx context.Context, name string, data []byte) error
	// String names the location for messages: a path or s3://bucket/prefix, never a
	// credential.
	String() string
}

// Writer writes one object. Exactly one of Close or Abort must be called; after a failed
// Write only Abort is meaningful. Not safe for concurrent use.
type Writer interface {
	io.Writer
	// Close finishes the object and makes it visible. An error means it was not written
	// (and nothing is left behind that looks like it).
	Close() error
	// Abort discards the object (for S3: aborts the multipart upload) and returns the first
	// error of doing so.
	Abort() error
}

// Object is one stored object.
type Object struct {
	Name string
	Size int64
}

// CheckName refuses a name that is not a clean relative slash-separated path, the same way
// in every store, so that a snapshot written to one can be copied to another.
func CheckName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
		path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") ||
		strings.ContainsAny(name, "\x00\\") {
		return fmt.Errorf("invalid object name %q: want a clean relative slash-separated path", name)
	}
	return nil
}
