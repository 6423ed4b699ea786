package store_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/understudy-dev/understudy/pipeline/store/dirstore"
)

// A Store (here a directory; s3store is the same on S3) writes an object whole or not at all: nothing is visible under its name until
// Close returns nil.
func ExampleStore() {
	dir, err := os.MkdirTemp("", "understudy-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := dirstore.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	w, err := s.Create(ctx, "data/public.customers/part-00000-000.parquet")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(w, "not really parquet"); err != nil {
		w.Abort()
		log.Fatal(err)
	}
	before, _ := s.List(ctx, "data/")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	after, err := s.List(ctx, "data/")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(before), "objects before Close")
	for _, o := range after {
		fmt.Println(o.Name, o.Size)
	}
	// Output:
	// 0 objects before Close
	// data/public.customers/part-00000-000.parquet 18
}
