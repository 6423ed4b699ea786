package parquetpart

import (
	"sync"
	_ "unsafe" // for go:linkname

	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// arrow-go v15's zstd codec makes a new zstd.Encoder for every page it compresses
// (zstdCodec.EncodeLevel, which the page writer always calls): each page pays for a fresh
// window history and entropy tables, an eighth of a snapshot's CPU time and most of its
// garbage. The package has no way to register a codec, so the registry is reached by name
// and the zstd entry replaced, once, before any writer exists, with one that keeps an encoder
// per level. Its output is the same bytes: the same encoder settings, reused.
//
// The name is pinned by go.sum (arrow-go v15.0.2); TestZstdCodecReusesEncoders fails if a
// new version moves it.
//
//go:linkname codecs github.com/apache/arrow/go/v15/parquet/compress.codecs
var codecs map[compress.Compression]compress.Codec

func init() {
	if base, ok := codecs[compress.Codecs.Zstd]; ok {
		codecs[compress.Codecs.Zstd] = &zstdCodec{Codec: base}
	}
}

// zstdCodec is arrow's codec with EncodeLevel served by long-lived encoders.
type zstdCodec struct {
	compress.Codec
	mu  sync.Mutex
	enc map[zstd.EncoderLevel]*zstd.Encoder
}

// EncodeLevel compresses src as arrow's codec does, with the level's shared encoder
// (zstd.Encoder.EncodeAll is safe for concurrent use; it keeps a pool of encoder states).
func (z *zstdCodec) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.EncoderLevelFromZstd(level)
	if level == compress.DefaultCompressionLevel {
		l = zstd.SpeedDefault
	}
	return z.encoder(l).EncodeAll(src, dst[:0])
}

func (z *zstdCodec) encoder(l zstd.EncoderLevel) *zstd.Encoder {
	z.mu.Lock()
	defer z.mu.Unlock()
	if e, ok := z.enc[l]; ok {
		return e
	}
	e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l))
	if err != nil { // only for invalid options, and these are arrow's own
		panic(err)
	}
	if z.enc == nil {
		z.enc = map[zstd.EncoderLevel]*zstd.Encoder{}
	}
	z.enc[l] = e
	return e
}
