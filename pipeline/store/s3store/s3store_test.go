package s3store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/understudy-dev/understudy/fixtures/s3test"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, "s3://"+s3test.Bucket(t)+"/snap/one") })
}

// Every promise of a Store holds through an endpoint that throttles, fails and drops
// connections every few requests (the SDK retries them), exclusive creation included: a
// refused request never reached the server.
func TestConformanceThroughFaults(t *testing.T) {
	var mu sync.Mutex
	var answered, faulted int // over all subtests
	var retries int64
	t.Cleanup(func() { // after the parallel subtests
		if answered == 0 || faulted == 0 || retries < int64(answered) {
			t.Errorf("%d faults (%d of them 503 or 500), %d retries: want faults, each error answered retried", faulted, answered, retries)
		}
	})
	storetest.Run(t, func(t *testing.T) store.Store {
		proxy := s3test.StartFaultProxy(t, s3test.Faults{SlowDownEvery: 5, InternalEvery: 7, DropEvery: 11})
		s, err := NewFromConfig(proxy.Config(t), "s3://"+s3test.Bucket(t)+"/snap/one")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c := proxy.Counts()
			mu.Lock()
			defer mu.Unlock()
			answered, faulted, retries = answered+c.SlowDown+c.Internal, faulted+c.Faulted(), retries+s.Retries()
		})
		return s
	})
}

func newStore(t *testing.T, rawURL string) *Store {
	t.Helper()
	s, err := NewFromConfig(s3test.Config(t), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ url, bucket, prefix, str string }{
		{"s3://b", "b", "", "s3://b"},
		{"s3://b/", "b", "", "s3://b"},
		{"s3://my-bucket/snap", "my-bucket", "snap/", "s3://my-bucket/snap"},
		{"s3://my-bucket/snap/", "my-bucket", "snap/", "s3://my-bucket/snap"},
		{"s3://b/a/b/c", "b", "a/b/c/", "s3://b/a/b/c"},
		{"s3://b/with%20space", "b", "with space/", "s3://b/with space"},
	} {
		bucket, prefix, err := ParseURL(tc.url)
		if err != nil || bucket != tc.bucket || prefix != tc.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", tc.url, bucket, prefix, err, tc.bucket, tc.prefix)
			continue
		}
		if got := (&Store{bucket: bucket, prefix: prefix}).String(); got != tc.str {
			t.Errorf("String() of %q = %q, want %q", tc.url, got, tc.str)
		}
	}
	for _, bad := range []string{
		"", "s3://", "s3:///prefix", "gs://b/p", "b/p", "s3://b:9000/p", "s3://b/p?versionId=1",
		"s3://b/p#x", "s3://b/a/../b", "s3:b",
	} {
		if _, _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded; want an error", bad)
		}
	}
}

// TestCredentialsInURLRefused: a key in the URL would end up in logs and shell history; it
// is refused, and the error does not repeat it.
func TestCredentialsInURLRefused(t *testing.T) {
	for _, u := range []string{
		"s3://AKIAEXAMPLE:s3cr3t-value@bucket/prefix",
		"s3://AKIAEXAMPLE@bucket/prefix",
		"s3://AKIAEXAMPLE:s3cr3t-value@bucket/%zz", // unparsable, and url.Error quotes the URL
	} {
		_, _, err := ParseURL(u)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded; want credentials refused", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "AKIAEXAMPLE") {
			t.Errorf("ParseURL(%q) error repeats the credentials: %v", u, err)
		}
		if _, err := New(context.Background(), u); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}

// TestStandardConfig goes through New, as the CLI does: the endpoint comes from
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, path-style addressing follows from it (the test
// server at 127.0.0.1 has no virtual-host names), and the region defaults to us-east-1.
func TestStandardConfig(t *testing.T) {
	s3test.Setenv(t)
	bucket := s3test.Bucket(t)
	ctx := context.Background()
	endpoint := s3test.Get(t).Endpoint

	roundTrip := func(t *testing.T) *Store {
		t.Helper()
		s, err := New(ctx, "s3://"+bucket+"/cfg")
		if err != nil {
			t.Fatal(err)
		}
		w, err := s.Create(ctx, "x")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "hello")
		if err := w.Close(); err != nil {
			t.Fatalf("write through New: %v", err)
		}
		r, err := s.Open(ctx, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if b, _ := io.ReadAll(r); string(b) != "hello" {
			t.Fatalf("read back %q", b)
		}
		return s
	}

	t.Run("AWS_ENDPOINT_URL_S3", func(t *testing.T) {
		s := roundTrip(t)
		if o := s.client.Options(); !o.UsePathStyle || o.Region != "us-east-1" {
			t.Errorf("UsePathStyle = %v, Region = %q; want true, us-east-1", o.UsePathStyle, o.Region)
		}
	})
	t.Run("AWS_ENDPOINT_URL", func(t *testing.T) {
		s3test.Unsetenv(t, "AWS_ENDPOINT_URL_S3")
		t.Setenv("AWS_ENDPOINT_URL", endpoint)
		roundTrip(t)
	})
	t.Run("DefaultRegion", func(t *testing.T) {
		s3test.Unsetenv(t, "AWS_REGION")
		s := roundTrip(t)
		if got := s.client.Options().Region; got != DefaultRegion {
			t.Errorf("Region = %q, want %q", got, DefaultRegion)
		}
		t.Setenv("AWS_DEFAULT_REGION", "eu-west-3")
		s, err := New(ctx, "s3://"+bucket)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.client.Options().Region; got != "eu-west-3" {
			t.Errorf("with AWS_DEFAULT_REGION, Region = %q, want eu-west-3", got)
		}
	})
	t.Run("Retryer", func(t *testing.T) {
		s := roundTrip(t)
		if got := s.client.Options().Retryer.MaxAttempts(); got != MaxAttempts {
			t.Errorf("MaxAttempts = %d, want %d", got, MaxAttempts)
		}
	})
}

func TestPathStyleSwitch(t *testing.T) {
	s3test.Setenv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		endpoint bool
		env      string
		want     bool
	}{
		{true, "", true},
		{true, "false", false},
		{true, "true", true},
		{false, "", false},
		{false, "true", true},
	} {
		if !tc.endpoint {
			s3test.Unsetenv(t, "AWS_ENDPOINT_URL_S3")
		}
		t.Setenv(EnvPathStyle, tc.env)
		s, err := New(ctx, "s3://bucket/p")
		if err != nil {
			t.Fatal(err)
		}
		if got := s.client.Options().UsePathStyle; got != tc.want {
			t.Errorf("endpoint set %v, %s=%q: UsePathStyle = %v, want %v", tc.endpoint, EnvPathStyle, tc.env, got, tc.want)
		}
	}
	t.Setenv(EnvPathStyle, "sometimes")
	if _, err := New(ctx, "s3://bucket/p"); err == nil || !strings.Contains(err.Error(), EnvPathStyle) {
		t.Errorf("%s=sometimes: err = %v; want it refused", EnvPathStyle, err)
	}
}

// TestAbortLeavesNoParts watches the server: while a large object is written a multipart
// upload is in progress, and after Abort — called directly, after the source of the bytes
// failed, or after the context was cancelled — there is none and no object.
func TestAbortLeavesNoParts(t *testing.T) {
	bucket := s3test.Bucket(t)
	client := s3test.Client(t)
	s := newStore(t, "s3://"+bucket+"/p")
	ctx := context.Background()
	uploads := func() []string {
		t.Helper()
		keys, err := s3test.Uploads(ctx, client, bucket)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*PartSize/16) // three parts

	t.Run("Abort", func(t *testing.T) {
		w, err := s.Create(ctx, "aborted")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(big); err != nil {
			t.Fatal(err)
		}
		if got := uploads(); len(got) != 1 || got[0] != "p/aborted" {
			t.Fatalf("while writing, uploads in progress = %v; want [p/aborted]", got)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := uploads(); len(got) != 0 {
			t.Errorf("after Abort, uploads in progress = %v; want none", got)
		}
	})
	t.Run("FailingReader", func(t *testing.T) {
		w, err := s.Create(ctx, "failed")
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("source failed")
		_, err = io.Copy(w, io.MultiReader(bytes.NewReader(big), iotestErrReader{boom}))
		if !errors.Is(err, boom) {
			t.Fatalf("copy: %v; want the source's error", err)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := uploads(); len(got) != 0 {
			t.Errorf("after Abort, uploads in progress = %v; want none", got)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		w, err := s.Create(cctx, "cancelled")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(big); err != nil {
			t.Fatal(err)
		}
		cancel() // the uploader's own abort now fails: ours, under a fresh context, must not
		if _, err := w.Write(big); err == nil {
			t.Error("Write after cancel succeeded")
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := uploads(); len(got) != 0 {
			t.Errorf("after Abort, uploads in progress = %v; want none", got)
		}
	})
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Errorf("objects left: %v", objs)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// TestErrorsNameBucketAndKey: every error says which object.
func TestErrorsNameBucketAndKey(t *testing.T) {
	bucket := s3test.Bucket(t)
	ctx := context.Background()
	s := newStore(t, "s3://"+bucket+"/pre")
	_, err := s.Open(ctx, "no/such")
	t.Log(err)
	if want := "s3://" + bucket + "/pre/no/such"; err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing object: %v; want fs.ErrNotExist naming %s", err, want)
	}

	gone := newStore(t, "s3://no-such-bucket-"+strings.ToLower(t.Name())+"/pre")
	w, err := gone.Create(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "x")
	err = w.Close()
	t.Log(err)
	if want := "s3://no-such-bucket-"; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "/pre/obj") {
		t.Errorf("Close into a missing bucket: %v; want an error naming the bucket and key", err)
	}
	if _, err := gone.List(ctx, ""); err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket-") {
		t.Errorf("List of a missing bucket: %v; want an error naming it", err)
	}
}

// TestRetries puts a proxy that fails requests in front of the real server: a real server
// cannot be made to throttle on demand. The first two requests get 503 SlowDown and 500
// InternalError; the write and the read succeed anyway, and the store counts two retries.
func TestRetries(t *testing.T) {
	bucket := s3test.Bucket(t)
	target, err := url.Parse(s3test.Get(t).Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var requests, failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch requests.Add(1) {
		case 1:
			failed.Add(1)
			rw.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(rw, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		case 2:
			failed.Add(1)
			rw.WriteHeader(http.StatusInternalServerError)
			io.WriteString(rw, `<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>`)
		default:
			proxy.ServeHTTP(rw, r)
		}
	}))
	defer srv.Close()
	cfg := s3test.Config(t)
	cfg.BaseEndpoint = aws.String(srv.URL)
	s, err := NewFromConfig(cfg, "s3://"+bucket+"/r")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := s.Create(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "retried")
	if err := w.Close(); err != nil {
		t.Fatalf("Close despite two failed attempts: %v", err)
	}
	r, err := s.Open(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "retried" || failed.Load() != 2 {
		t.Errorf("read %q after %d failed requests; want %q after 2", b, failed.Load(), "retried")
	}
	if n := s.Retries(); n != 2 {
		t.Errorf("Retries() = %d after 2 failed requests", n)
	}
}

// TestMemoryBounded writes an object eight times the size of the bound on one writer's
// memory, and samples the heap: it grows by no more than the bound plus slack, never by the
// object. Not parallel: it measures the whole process.
func TestMemoryBounded(t *testing.T) {
	bucket := s3test.Bucket(t)
	s := newStore(t, "s3://"+bucket+"/m")
	const size = 128 << 20
	const bound = (Concurrency + 2) * PartSize
	const slack = 16 << 20

	defer debug.SetGCPercent(debug.SetGCPercent(10)) // heap close to live memory
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()

	ctx := context.Background()
	w, err := s.Create(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for written := 0; written < size; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()

	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap grew by at most %d MiB writing %d MiB (bound %d MiB)", grew>>20, size>>20, bound>>20)
	if grew > bound+slack {
		t.Errorf("heap grew by %d MiB writing one %d MiB object; want at most %d MiB", grew>>20, size>>20, (bound+slack)>>20)
	}
	objs, err := s.List(ctx, "")
	if err != nil || len(objs) != 1 || objs[0].Size != size {
		t.Errorf("List = %v, %v; want big of %d bytes", objs, err, size)
	}
}
