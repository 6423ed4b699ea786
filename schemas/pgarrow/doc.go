// Package pgarrow converts PostgreSQL's binary COPY stream to Arrow record batches and back.
//
// It serves the transform path of a copy: the bytes of
//
//	COPY (SELECT cols FROM t) TO STDOUT (FORMAT binary)
//
// are decoded by a Decoder into batches, a transformer replaces some columns, and an Encoder
// turns the batches back into bytes for COPY t (cols) FROM STDIN (FORMAT binary). The round trip
// is lossless: decoding any stream the Decoder accepts and encoding the batches again gives the
// same bytes. To keep that promise the Decoder refuses, with an *Error naming the row and
// column, every value it could not reproduce exactly (a numeric in a form PostgreSQL never
// sends, a bool byte other than 0 or 1, a timestamp Arrow cannot hold), and the header flags and
// header extension PostgreSQL never writes.
//
// Each Column is carried either natively, as the Arrow type a table's reader expects (int4 as
// Int32, text as String, timestamptz as Timestamp(µs, UTC), numeric as its text form...), or
// raw, as the exact wire bytes of each value in a Binary column. Types without a lossless native
// mapping (interval, arrays, enums, composites, ranges, inet, money, bit, xml, geometric and
// extension types) are always raw. Every field's metadata records the PostgreSQL type, so a
// reader of a snapshot knows what the bytes mean.
//
// It is not a general PostgreSQL type library: it knows only the binary send/recv forms listed
// in Field, it does not read the text or CSV COPY formats, and it does not check raw values
// (the server does, when the stream is loaded). Strings are carried as the server sends them, in
// the connection's client_encoding; they are valid UTF-8 only when that is UTF8. A table that no
// transformer touches needs none of this: its COPY bytes can be piped straight through.
package pgarrow
