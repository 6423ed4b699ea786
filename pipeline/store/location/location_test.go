package location

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/s3test"
	"github.com/understudy-dev/understudy/pipeline/store/dirstore"
	"github.com/understudy-dev/understudy/pipeline/store/s3store"
)

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, loc := range []string{dir, "file://" + dir, "FILE://" + dir, filepath.Join(dir, "not", "yet")} {
		s, err := Open(context.Background(), loc)
		if err != nil {
			t.Fatalf("Open(%q): %v", loc, err)
		}
		if _, ok := s.(*dirstore.Store); !ok {
			t.Errorf("Open(%q) = %T, want *dirstore.Store", loc, s)
		}
	}
}

func TestOpenS3(t *testing.T) {
	s3test.Setenv(t)
	bucket := s3test.Bucket(t)
	s, err := Open(context.Background(), "s3://"+bucket+"/snap")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*s3store.Store); !ok {
		t.Fatalf("Open = %T, want *s3store.Store", s)
	}
	if got, want := s.String(), "s3://"+bucket+"/snap"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if _, err := s.List(context.Background(), ""); err != nil {
		t.Errorf("List on the test server: %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, loc := range []string{"", "gs://bucket/p", "https://user:pw@example.com/x", "s3://key:secret@bucket/p"} {
		_, err := Open(context.Background(), loc)
		if err == nil {
			t.Errorf("Open(%q) succeeded; want an error", loc)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), ":pw") {
			t.Errorf("Open(%q): error repeats the credentials: %v", loc, err)
		}
	}
}
