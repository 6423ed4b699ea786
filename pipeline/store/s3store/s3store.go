// Package s3store is a store.Store over an S3 prefix (s3://bucket/prefix), on AWS or any
// S3-compatible server (MinIO, versitygw, Ceph, R2…): where a snapshot goes to be restored
// elsewhere, or written by many shards at once.
//
// Configuration is the standard AWS one, read by config.LoadDefaultConfig: environment
// variables, shared config and credentials files, AWS_PROFILE, AWS_REGION or
// AWS_DEFAULT_REGION (us-east-1 when none is set), and AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL for an S3-compatible server. With a custom endpoint, requests use
// path-style addressing (http://host/bucket/key), which such servers expect;
// UNDERSTUDY_S3_PATH_STYLE=true|false overrides that choice. Credentials never go in the URL.
//
// Create streams: the bytes written go through a pipe into a multipart upload, PartSize at a
// time with Concurrency parts in flight, so an object of any size (up to 10,000 parts, 80 GiB)
// costs a bounded amount of memory and no temporary file. Close completes the upload; Abort,
// a failed write or a cancelled context aborts it, leaving no parts behind. An object smaller
// than one part is sent with a single PutObject at Close. Requests are retried with the
// SDK's standard retryer (exponential backoff with jitter on throttling, 5xx and connection
// errors), up to MaxAttempts, without its client-side retry quota (which, under sustained
// throttling, would fail a long run's requests before their attempts were spent); Retries
// counts them.
//
// It is not a general S3 client: no versioning, no server-side copy, no presigning, no
// bucket management. A process killed mid-upload leaves its parts on the server; a bucket
// lifecycle rule (AbortIncompleteMultipartUpload) is what reclaims those.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/understudy-dev/understudy/pipeline/store"
)

const (
	// PartSize is the size of one part of a multipart upload.
	PartSize = 8 << 20
	// Concurrency is how many parts of one object are uploaded at once. One open Writer
	// holds at most Concurrency+2 parts in memory (those in flight, the one being filled,
	// and the first, which is read whole to tell a small object from a large one): 32 MiB.
	Concurrency = 2
	// MaxAttempts bounds the tries of one request, the first included.
	MaxAttempts = 8
	// DefaultRegion is the region when the configuration names none.
	DefaultRegion = "us-east-1"
	// EnvPathStyle, when set to true or false, forces path-style addressing on or off.
	EnvPathStyle = "UNDERSTUDY_S3_PATH_STYLE"
)

// cleanupTimeout bounds the AbortMultipartUpload sent after a failure, which runs even
// when the writer's context is already cancelled.
const cleanupTimeout = time.Minute

var errAborted = errors.New("write aborted")

// Store is one S3 prefix. It is safe for concurrent use.
type Store struct {
	client   *s3.Client
	uploader *manager.Uploader
	bucket   string
	prefix   string // "" or ending in "/"
	retries  *atomic.Int64
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Writer = (*writer)(nil)
)

// New returns the store at rawURL (s3://bucket or s3://bucket/prefix), configured from the
// environment as the package documentation says.
func New(ctx context.Context, rawURL string) (*Store, error) {
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithDefaultRegion(DefaultRegion))
	if err != nil {
		return nil, fmt.Errorf("s3store: %s: load AWS configuration: %w", location(bucket, prefix), err)
	}
	return NewFromConfig(cfg, rawURL)
}

// NewFromConfig is New with an AWS configuration the caller loaded (tests, or a program
// with its own credentials). The retryer, path-style addressing and UNDERSTUDY_S3_PATH_STYLE
// apply as in New.
func NewFromConfig(cfg aws.Config, rawURL string) (*Store, error) {
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var forcePathStyle *bool
	if v := os.Getenv(EnvPathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("s3store: %s=%q: want true or false", EnvPathStyle, v)
		}
		forcePathStyle = &b
	}
	retries := new(atomic.Int64)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// BaseEndpoint is already resolved here, from the config or AWS_ENDPOINT_URL[_S3].
		o.UsePathStyle = o.BaseEndpoint != nil
		if forcePathStyle != nil {
			o.UsePathStyle = *forcePathStyle
		}
		o.Retryer = countingRetryer{retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = MaxAttempts
			so.RateLimiter = ratelimit.None
		}), retries}
	})
	return &Store{
		client: client,
		uploader: manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = PartSize
			u.Concurrency = Concurrency
			u.LeavePartsOnError = false
		}),
		bucket:  bucket,
		prefix:  prefix,
		retries: retries,
	}, nil
}

// Retries returns how many requests the SDK has sent again since the store was made (a
// request tried three times counts two).
func (s *Store) Retries() int64 { return s.retries.Load() }

// countingRetryer counts the retries its retryer decides on: the SDK asks RetryDelay once
// before each new attempt.
type countingRetryer struct {
	aws.RetryerV2
	n *atomic.Int64
}

func (c countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	c.n.Add(1)
	return c.RetryerV2.RetryDelay(attempt, err)
}

// ParseURL splits s3://bucket/prefix into the bucket and a key prefix that is empty or ends
// in "/". It refuses credentials in the URL, and its errors never repeat them.
func ParseURL(rawURL string) (bucket, prefix string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error quotes the whole URL, password and all
		}
		return "", "", fmt.Errorf("s3store: location is not a valid URL: %w", err)
	}
	if u.User != nil {
		return "", "", fmt.Errorf("s3store: s3://%s%s: credentials do not belong in the URL; "+
			"use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a credentials file", u.Host, u.EscapedPath())
	}
	if u.Scheme != "s3" {
		return "", "", fmt.Errorf("s3store: location %q: want s3://bucket/prefix", rawURL)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("s3store: location %q: no bucket (want s3://bucket/prefix)", rawURL)
	}
	if u.Port() != "" || strings.Contains(u.Host, ":") {
		return "", "", fmt.Errorf("s3store: location %q: a bucket has no port; set the endpoint with AWS_ENDPOINT_URL_S3", rawURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", fmt.Errorf("s3store: location %q: want s3://bucket/prefix, without query or fragment", rawURL)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		if path.Clean(prefix) != prefix || strings.HasPrefix(prefix, "../") || prefix == ".." {
			return "", "", fmt.Errorf("s3store: location %q: the prefix must be a clean path", rawURL)
		}
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// String returns s3://bucket/prefix.
func (s *Store) String() string { return location(s.bucket, s.prefix) }

func location(bucket, prefix string) string {
	return "s3://" + path.Join(bucket, prefix)
}

// where names one object in messages.
func (s *Store) where(key string) string { return "s3://" + s.bucket + "/" + key }

func (s *Store) key(name string) (string, error) {
	if err := store.CheckName(name); err != nil {
		return "", fmt.Errorf("s3store: %s: %w", s, err)
	}
	return s.prefix + name, nil
}

// Create implements store.Store. The upload runs in a goroutine fed by the Writer through a
// pipe, under ctx: cancelling ctx fails the upload, after which only Abort is meaningful.
func (s *Store) Create(ctx context.Context, name string) (store.Writer, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	w := &writer{pw: pw, where: s.where(key), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_, err := s.uploader.Upload(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: pr})
		if err != nil {
			w.cleanupErr = s.abortUpload(ctx, key, err)
		}
		w.err = err
		// A Write blocked on the pipe learns why the upload stopped.
		pr.CloseWithError(err) // nil: io.ErrClosedPipe
	}()
	return w, nil
}

// abortUpload makes sure a failed multipart upload leaves no parts. The uploader aborts it
// itself, but with the upload's context, which is cancelled on the pipeline's usual failure
// path; so abort again under a fresh one. An upload already gone is what we want.
func (s *Store) abortUpload(ctx context.Context, key string, uploadErr error) error {
	var mu manager.MultiUploadFailure
	if !errors.As(uploadErr, &mu) || mu.UploadID() == "" {
		return nil // nothing was started, or it was a single PutObject
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	id := mu.UploadID()
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: &id})
	var gone *types.NoSuchUpload
	if err != nil && !errors.As(err, &gone) {
		return fmt.Errorf("s3store: abort multipart upload %s of %s: %w", id, s.where(key), err)
	}
	return nil
}

// Open implements store.Store; the object streams from GetObject.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("s3store: open %s: no such object (%w)", s.where(key), fs.ErrNotExist)
		}
		return nil, fmt.Errorf("s3store: open %s: %w", s.where(key), err)
	}
	return &body{ReadCloser: out.Body, where: s.where(key)}, nil
}

// List implements store.Store, a page of ListObjectsV2 at a time.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	full := s.prefix + prefix
	var objs []store.Object
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &full})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3store: list %s: %w", s.where(full), err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if strings.HasSuffix(k, "/") {
				continue // a "directory" marker, which no Create makes
			}
			objs = append(objs, store.Object{Name: strings.TrimPrefix(k, s.prefix), Size: aws.ToInt64(o.Size)})
		}
	}
	// S3 lists in byte order already; S3-compatible servers do not all.
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	var nsk *types.NoSuchKey
	if err != nil && !errors.As(err, &nsk) {
		return fmt.Errorf("s3store: delete %s: %w", s.where(key), err)
	}
	return nil
}

// CreateExclusive implements store.Store with a conditional PutObject (If-None-Match: *),
// which AWS S3 has honoured since August 2024 and versitygw since v1.8.0: the server refuses
// the write with 412 Precondition Failed when the key exists, and with 409 Conflict when
// another conditional write of the key is under way; both mean someone else holds the name.
// A server that ignores the header would let two writers both succeed; such a server cannot
// hold a lock, and storetest's CreateExclusive test fails against it.
func (s *Store) CreateExclusive(ctx context.Context, name string, data []byte) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), IfNoneMatch: aws.String("*")})
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict) {
		return fmt.Errorf("s3store: create %s: %w", s.where(key), fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("s3store: create %s: %w", s.where(key), err)
	}
	return nil
}

// writer feeds the upload goroutine through a pipe. err and cleanupErr are written by that
// goroutine before it closes done, and read only after.
type writer struct {
	pw         *io.PipeWriter
	where      string
	done       chan struct{}
	err        error // the upload's
	cleanupErr error // aborting what the failed upload left
	finished   bool  // Close or Abort was called
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if err != nil {
		return n, fmt.Errorf("s3store: write %s: %w", w.where, err)
	}
	return n, nil
}

// Close ends the stream and waits for the upload to complete.
func (w *writer) Close() error {
	if w.finished {
		return fmt.Errorf("s3store: close %s: %w", w.where, os.ErrClosed)
	}
	w.finished = true
	w.pw.Close()
	<-w.done
	if w.err != nil {
		return fmt.Errorf("s3store: write %s: %w", w.where, errors.Join(w.err, w.cleanupErr))
	}
	return nil
}

// Abort fails the stream, which fails the upload, and waits until its parts are gone. After
// a Close it does nothing, so that "defer w.Abort()" is safe.
func (w *writer) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	w.pw.CloseWithError(errAborted)
	<-w.done
	return w.cleanupErr
}

// body names the object in read errors.
type body struct {
	io.ReadCloser
	where string
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("s3store: read %s: %w", b.where, err)
	}
	return n, err
}
