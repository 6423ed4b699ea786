package parquetpart

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// The Parquet writer's zstd codec is the one that keeps its encoders, and it writes exactly
// the bytes a fresh encoder with arrow's settings writes, from many goroutines at once.
func TestZstdCodecReusesEncoders(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	zc, ok := c.(*zstdCodec)
	if !ok {
		t.Fatalf("the zstd codec is %T, not this package's: arrow-go's registry moved", c)
	}
	page := func(i int) []byte {
		var b bytes.Buffer
		for j := 0; b.Len() < 64<<10; j++ {
			fmt.Fprintf(&b, "row %d of page %d, customer%d@example.com;", j, i, (i*j)%977)
		}
		return b.Bytes()
	}
	fresh := func(src []byte) []byte { // arrow's own EncodeLevel, minus the allocations
		e, _ := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(zstd.SpeedDefault))
		defer e.Close()
		return e.EncodeAll(src, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g * 10; i < g*10+10; i++ {
				src := page(i)
				got := c.EncodeLevel(make([]byte, 0, c.CompressBound(int64(len(src)))), src, compress.DefaultCompressionLevel)
				if !bytes.Equal(got, fresh(src)) {
					errs <- fmt.Errorf("page %d: %d bytes, a fresh encoder writes %d", i, len(got), len(fresh(src)))
					return
				}
				if back := c.Decode(nil, got); !bytes.Equal(back, src) {
					errs <- fmt.Errorf("page %d does not decode to itself", i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(zc.enc); n != 1 {
		t.Errorf("%d encoders for one level, want 1", n)
	}
}
