package transforms

// Default returns a registry holding every built-in transformer: one line each.
func Default() *Registry {
	r := NewRegistry()
	r.Register(Entry{Name: "null", New: newNull,
		Summary: "Replaces every value with NULL (refused on NOT NULL columns).",
		Example: "notes: null"})
	r.Register(Entry{Name: "constant", New: newConstant,
		Summary: "Replaces every value with one fixed value, checked against the column type by the server; NULLs stay NULL unless keep_null: false.",
		Example: `country: {transform: constant, value: "US"}`})
	r.Register(Entry{Name: "hash", New: newHash,
		Summary: "Keyed HMAC-SHA256 of the value: hex text (length, default 32, capped at varchar(n)), a UUID, a non-negative integer or 32 bytes, by column type. Same input, same output in every table sharing the domain.",
		Example: "email: hash   # or {transform: hash, domain: customer-email, length: 16}"})
	r.Register(Entry{Name: "permute", New: newPermute,
		Summary: "Keyed bijection for integer and uuid keys: integers keep their type and sign (a Feistel network over the type's range), uuids are AES-encrypted. Keys stay unique, and every foreign key referencing the column follows with the same mapping.",
		Example: "id: permute"})
	return r
}
