// Package location turns a snapshot location as a user writes it into a store.Store:
// "s3://bucket/prefix" for S3 (or an S3-compatible server), a path or "file:///abs/path"
// for a local directory.
//
// It only dispatches: what each form accepts, and how S3 is configured, is said by dirstore
// and s3store.
package location

import (
	"context"
	"fmt"
	"strings"

	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/dirstore"
	"github.com/understudy-dev/understudy/pipeline/store/s3store"
)

// Open returns the store at loc. Nothing is created or contacted yet, beyond loading the
// AWS configuration for S3.
func Open(ctx context.Context, loc string) (store.Store, error) {
	scheme, _, hasScheme := strings.Cut(loc, "://")
	switch {
	case loc == "":
		return nil, fmt.Errorf("no snapshot location: want a directory, file:///path or s3://bucket/prefix")
	case !hasScheme:
		return dirstore.New(loc)
	case strings.EqualFold(scheme, "file"):
		return dirstore.New(loc)
	case strings.EqualFold(scheme, "s3"):
		return s3store.New(ctx, loc)
	default:
		return nil, fmt.Errorf("snapshot location %s: unsupported scheme %q: want a directory, file:///path or s3://bucket/prefix", redact(loc), scheme)
	}
}

// redact drops what a URL might carry between "://" and "@": the location is echoed in a
// message, and credentials must not be.
func redact(loc string) string {
	scheme, rest, _ := strings.Cut(loc, "://")
	host, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = "***@" + host[i+1:]
	}
	if path != "" {
		return scheme + "://" + host + "/" + path
	}
	return scheme + "://" + host
}
