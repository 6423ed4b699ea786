package transforms_test

import (
	"fmt"
	"log"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
	"gopkg.in/yaml.v3"

	"github.com/understudy-dev/understudy/transforms"
)

// A rule is built from the registry for one column, as a config file writes it, and rewrites
// whole Arrow columns: the same key gives the same output in every run, NULL stays NULL.
func ExampleRegistry_New() {
	key, err := transforms.NewKey("an-example-key-of-enough-bytes")
	if err != nil {
		log.Fatal(err)
	}
	var rule yaml.Node // the rule as a config file writes it
	if err := yaml.Unmarshal([]byte("{transform: email, keep_domain: true}"), &rule); err != nil {
		log.Fatal(err)
	}
	tr, err := transforms.Default().New("email", transforms.Env{
		Column: transforms.Column{Table: "public.customers", Name: "email", TypeName: "text", BaseOID: pgtype.TextOID, Typmod: -1},
		Params: transforms.YAMLParams(rule.Content[0]),
		Key:    key,
	})
	if err != nil {
		log.Fatal(err)
	}

	mem := memory.NewGoAllocator()
	b := array.NewStringBuilder(mem)
	b.AppendValues([]string{"alice@shop.example", "", "alice@shop.example"}, []bool{true, false, true})
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true}}, nil),
		[]arrow.Array{col}, 3)
	defer rec.Release()

	out, err := tr.Transform(rec, 0, mem) // the caller releases the result
	if err != nil {
		log.Fatal(err)
	}
	defer out.Release()
	for i := 0; i < out.Len(); i++ {
		fmt.Println(out.ValueStr(i))
	}
	// Output:
	// alabadie@shop.example
	// (null)
	// alabadie@shop.example
}
