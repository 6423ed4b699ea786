package transforms

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

var (
	jsonCol  = shapeCol("json", pgtype.JSONOID)
	jsonbCol = shapeCol("jsonb", pgtype.JSONBOID)
)

// jsonRun runs a json rule over documents (nil = NULL) as a String column, the form json and
// jsonb arrive in when decoded natively.
func jsonRun(t *testing.T, tr Transformer, mem memory.Allocator, docs ...string) []string {
	t.Helper()
	vals := make([][]byte, len(docs))
	for i, d := range docs {
		vals[i] = []byte(d)
	}
	out := run(t, tr, mem, arrow.BinaryTypes.String, vals)
	res := make([]string, len(out))
	for i, o := range out {
		res[i] = string(o)
	}
	return res
}

// Only the string values at the paths change; whitespace, key order, duplicate keys, number
// spellings, escapes elsewhere and everything off the paths stay byte for byte.
func TestJSONRewritesOnlyTheValuesAtThePaths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		name, paths, in, want string
	}{
		{"layout kept",
			`{"$.email": shape_upper, "$.tags[*]": shape_upper}`,
			"  { \"email\" :\t\"a@b.c\",  \"n\": 1.50e+2, \"tags\":[\"x\", \"y\" ,7, null, {\"k\":\"z\"}, true],\r\n \"email\":\"dup@x\", \"nested\": {\"email\": \"keep@x\"}, \"z\": -0.0E-0 }\n",
			"  { \"email\" :\t\"A@B.C\",  \"n\": 1.50e+2, \"tags\":[\"X\", \"Y\" ,7, null, {\"k\":\"z\"}, true],\r\n \"email\":\"DUP@X\", \"nested\": {\"email\": \"keep@x\"}, \"z\": -0.0E-0 }\n"},
		{"escapes read, output re-escaped",
			`{"$.s": shape_upper, "$.p": shape_upper, "$.l": shape_upper, "$.c": shape_upper}`,
			`{"s": "caf\u00e9 \"q\" \\ \/ \n", "p": "\ud83d\ude00x", "l": "\ud800y", "c": "\u0001a\t", "o": "caf\u00e9"}`,
			`{"s": "CAFÉ \"Q\" \\ / \n", "p": "😀X", "l": "` + "\uFFFD" + `Y", "c": "\u0001A\t", "o": "caf\u00e9"}`},
		{"null makes any value null",
			`{"$.secret": null, "$.pin": null, "$.s": null, "$.gone": null}`,
			`{"secret": {"deep": [1, {"x": "y"}]}, "pin": 1234, "s": "x", "keep": "y", "n": null}`,
			`{"secret": null, "pin": null, "s": null, "keep": "y", "n": null}`},
		{"[n] picks one element",
			`{"$.a[1]": shape_upper, "$.b[0][2]": shape_upper}`,
			`{"a": ["p", "q", "r"], "b": [["s", "t", "u"], ["v", "w", "x"]]}`,
			`{"a": ["p", "Q", "r"], "b": [["s", "t", "U"], ["v", "w", "x"]]}`},
		{".* is every member",
			`{"$.*": shape_upper}`,
			`{"a": "x", "b": 2, "c": ["y"], "d": {"e": "f"}}`,
			`{"a": "X", "b": 2, "c": ["y"], "d": {"e": "f"}}`},
		{".* and [*] reach members and elements alike",
			`{"$.*.name": shape_upper, "$.list.*": shape_upper, "$.obj[*]": shape_upper}`,
			`{"u1": {"name": "a"}, "u2": {"name": "b", "x": "c"}, "u3": "name", "list": ["d", "e"], "obj": {"f": "g"}}`,
			`{"u1": {"name": "A"}, "u2": {"name": "B", "x": "c"}, "u3": "name", "list": ["D", "E"], "obj": {"f": "G"}}`},
		{"elements of arrays of objects",
			`{"$.users[*].email": shape_upper}`,
			`{"users": [{"email": "a@x", "id": 1}, {"id": 2}, {"email": "b@x"}, "c@x"]}`,
			`{"users": [{"email": "A@X", "id": 1}, {"id": 2}, {"email": "B@X"}, "c@x"]}`},
		{"quoted keys",
			`{"$[\"a.b\"]": shape_upper, "$['we\\'ird']": shape_upper, "$[\"q\\\"\"]": shape_upper}`,
			`{"a.b": "x", "a": {"b": "y"}, "we'ird": "z", "q\"": "w"}`,
			`{"a.b": "X", "a": {"b": "y"}, "we'ird": "Z", "q\"": "W"}`},
		{"escaped keys match and stay",
			`{"$.email": shape_upper}`,
			`{"\u0065mail": "x", "em\u0061il": "y"}`,
			`{"\u0065mail": "X", "em\u0061il": "Y"}`},
		{"the whole document", `{"$": shape_upper}`, ` "hello" `, ` "HELLO" `},
		{"the whole document, not a string", `{"$": shape_upper}`, `{"a": "b"}`, `{"a": "b"}`},
		{"the whole document, null", `{"$": null}`, `[1, 2]`, `null`},
		{"values that are no strings stay", `{"$.email": shape_upper, "$.tags[*]": shape_upper}`,
			`{"email": 42, "tags": "not an array"}`, `{"email": 42, "tags": "not an array"}`},
		{"the first path in the config decides", `{"$.a": null, "$.*": shape_upper}`,
			`{"a": "x", "b": "y"}`, `{"a": null, "b": "Y"}`},
		{"the first path in the config decides, other order", `{"$.*": shape_upper, "$.a": null}`,
			`{"a": "x", "b": "y"}`, `{"a": "X", "b": "Y"}`},
		// "$.*" comes first but takes strings only: the null of "$.card" still reaches the
		// object, and nothing is left in place by a path that does not apply.
		{"a later null reaches what an earlier text rule does not take", `{"$.*": shape_upper, "$.card": null, "$.pin": null}`,
			`{"card": {"number": "4111"}, "pin": 1234, "name": "x"}`, `{"card": null, "pin": null, "name": "X"}`},
		{"empty containers and strings", `{"$.a": shape_upper, "$.b[*]": shape_upper, "$.c.*": shape_upper}`,
			`{"a": "", "b": [], "c": {}}`, `{"a": "", "b": [], "c": {}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := shapeNew(t, "json", jsonbCol, nil, params(t, "{paths: "+tc.paths+"}"))
			if got := jsonRun(t, tr, mem, tc.in); got[0] != tc.want {
				t.Errorf("\n got %s\nwant %s", got[0], tc.want)
			}
		})
	}
}

// Deep nesting off the paths is skipped without recursion, and still checked.
func TestJSONDeepNesting(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const depth = 200_000
	doc := `{"a": "x", "deep": ` + strings.Repeat(`[{"k":`, depth) + `"v"` + strings.Repeat(`}]`, depth) + `}`
	tr := shapeNew(t, "json", jsonCol, nil, params(t, `{paths: {"$.a": shape_upper, "$.b": shape_upper}}`))
	if got := jsonRun(t, tr, mem, doc); got[0] != strings.Replace(doc, `"x"`, `"X"`, 1) {
		t.Error("a deeply nested document was not kept")
	}
	rec := batch(mem, arrow.BinaryTypes.String, [][]byte{[]byte(doc[:len(doc)-3])})
	defer rec.Release()
	if out, err := tr.Transform(rec, 0, mem); err == nil {
		out.Release()
		t.Error("a truncated deep document was accepted")
	}
}

// NULL stays NULL; raw jsonb keeps its version byte; json, jsonb and text columns hold the
// same text otherwise.
func TestJSONColumnForms(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	p := `{paths: {"$.e": shape_upper}}`
	docs := [][]byte{[]byte(`{"e": "x"}`), nil, []byte(`null`)}
	for _, c := range []Column{jsonCol, jsonbCol, shapeTextCol, textCol("character varying(40)", pgtype.VarcharOID, 44)} {
		got := run(t, shapeNew(t, "json", c, nil, params(t, p)), mem, arrow.BinaryTypes.String, docs)
		if string(got[0]) != `{"e": "X"}` || got[1] != nil || string(got[2]) != "null" {
			t.Errorf("%s: %q", c.TypeName, got)
		}
	}
	// Raw wire bytes: jsonb starts with its version, 1; json is the text itself.
	raw := run(t, shapeNew(t, "json", jsonbCol, nil, params(t, p)), mem, arrow.BinaryTypes.Binary,
		[][]byte{[]byte("\x01{\"e\": \"x\"}"), nil, []byte("\x01 \"e\"")})
	if string(raw[0]) != "\x01{\"e\": \"X\"}" || raw[1] != nil || string(raw[2]) != "\x01 \"e\"" {
		t.Errorf("raw jsonb: %q", raw)
	}
	raw = run(t, shapeNew(t, "json", jsonCol, nil, params(t, p)), mem, arrow.BinaryTypes.Binary, [][]byte{[]byte(`{"e": "x"}`)})
	if string(raw[0]) != `{"e": "X"}` {
		t.Errorf("raw json: %q", raw)
	}
	for _, v := range [][]byte{[]byte(`{"e": "x"}`), {}, []byte("\x02{}")} {
		rec := batch(mem, arrow.BinaryTypes.Binary, [][]byte{[]byte("\x01{}"), v})
		out, err := shapeNew(t, "json", jsonbCol, nil, params(t, p)).Transform(rec, 0, mem)
		rec.Release()
		if err == nil {
			out.Release()
			t.Errorf("raw jsonb %q accepted", v)
		} else if !strings.Contains(err.Error(), "row 1 of the batch: jsonb without its version byte 1") {
			t.Errorf("raw jsonb %q: %v", v, err)
		}
	}
}

// A keyed rule at a path sees the string's text (escapes decoded), as it would in a text
// column: the same value gets the same output in both, and another key another output.
func TestJSONKeyedRulesMatchTheirTextColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var choices []string
	for i := 0; i < 1000; i++ {
		choices = append(choices, "c"+strconv.Itoa(i)+": 1")
	}
	rule := "{transform: weighted_choice, choices: {" + strings.Join(choices, ", ") + "}}"
	key1, key2 := testKey(t, "0123456789abcdef-one"), testKey(t, "0123456789abcdef-two")
	values := []string{"alice", "bob", "café", `"quoted"`, "carol"}
	docs := []string{`{"v": "alice"}`, `{"v": "bob"}`, `{"v": "caf\u00e9"}`, `{"v": "\"quoted\""}`, `{"v": "carol"}`}
	vals := make([][]byte, len(values))
	for i, v := range values {
		vals[i] = []byte(v)
	}
	plain := run(t, shapeNew(t, "weighted_choice", shapeTextCol, key1, params(t, rule)), mem, arrow.BinaryTypes.String, vals)
	a := jsonRun(t, shapeNew(t, "json", jsonbCol, key1, params(t, `{paths: {"$.v": `+rule+`}}`)), mem, docs...)
	b := jsonRun(t, shapeNew(t, "json", jsonbCol, key2, params(t, `{paths: {"$.v": `+rule+`}}`)), mem, docs...)
	same := 0
	for i := range docs {
		if want := `{"v": "` + string(plain[i]) + `"}`; a[i] != want {
			t.Errorf("%s became %s; %q in a text column became %q", docs[i], a[i], values[i], plain[i])
		}
		if a[i] == b[i] {
			same++
		}
	}
	if same > 1 {
		t.Errorf("another key gave %d of %d documents the same output", same, len(docs))
	}
}

// Invalid JSON is an error saying where, anywhere in the document, on a path or not.
func TestJSONInvalidDocuments(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tr := shapeNew(t, "json", jsonbCol, nil, params(t, `{paths: {"$.a": shape_upper}}`))
	for _, tc := range []struct{ doc, want string }{
		{`{"a": }`, "invalid JSON at byte 6: expected a value"},
		{`{"a": "x"`, "unexpected end of JSON"},
		{`{"a": "x"} x`, "invalid JSON at byte 11: data after the document"},
		{`{"a": 01}`, "invalid JSON at byte 7: expected , or }"},
		{`{"a": "\x"}`, "invalid JSON at byte 8: bad escape"},
		{`{"a": "\u12g4"}`, `bad \u escape`},
		{"{\"a\": \"tab\there\"}", "invalid JSON at byte 10: control character in a string"},
		{`{a: 1}`, "invalid JSON at byte 1: expected a key"},
		{`{"a" 1}`, "invalid JSON at byte 5: expected :"},
		{`{"b": [1, 2}`, "invalid JSON at byte 11: expected , or a closing bracket"},
		{`{"b": [1,]}`, "invalid JSON at byte 9: expected a value"},
		{`{"b": tru}`, "invalid JSON at byte 6: expected true"},
		{`{"b": 1.}`, "invalid JSON at byte 8: expected a digit"},
		{`{"b": -}`, "invalid JSON at byte 6: expected a value"},
		{`{"b": 1e}`, "invalid JSON at byte 8: expected a digit"},
		{`{"b": {"c" 1}}`, "invalid JSON at byte 11: expected :"},
		{`{"b": "\u00`, "unexpected end of JSON"},
		{``, "unexpected end of JSON"},
		{`   `, "unexpected end of JSON"},
		{`[1, 2]]`, "data after the document"},
	} {
		rec := batch(mem, arrow.BinaryTypes.String, [][]byte{[]byte(`{}`), []byte(tc.doc)})
		out, err := tr.Transform(rec, 0, mem)
		rec.Release()
		if err == nil {
			out.Release()
			t.Errorf("%q accepted", tc.doc)
			continue
		}
		if !strings.Contains(err.Error(), "row 1 of the batch") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %q, want %q", tc.doc, err, tc.want)
		}
	}
}

// Paths print back as paths that parse to the same steps.
func TestJSONPathsRoundTrip(t *testing.T) {
	for _, p := range []string{`$`, `$.a.b`, `$.a[3][*].c`, `$.*`, `$["a.b"]`, `$["q\"\\"]`, `$['x y']`, `$[""]`, `$["*"]`} {
		segs, err := jsonPathParse(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		back, err := jsonPathParse(jsonPathString(segs))
		if err != nil || fmt.Sprint(back) != fmt.Sprint(segs) {
			t.Errorf("%s printed as %s, which reads %v (%v), not %v", p, jsonPathString(segs), back, err, segs)
		}
	}
}

func TestJSONRefusals(t *testing.T) {
	key := testKey(t, "0123456789abcdef-key")
	uniq := jsonbCol
	uniq.Unique = true
	var many []string
	for i := 0; i < 65; i++ {
		many = append(many, fmt.Sprintf(`"$.k%d": null`, i))
	}
	for _, tc := range []struct {
		col  Column
		key  *Key
		p    string
		want string
	}{
		{shapeInt4Col, key, `{paths: {"$.a": null}}`, "column type integer is not one"},
		{jsonbCol, key, "", "json needs paths"},
		{jsonbCol, key, "{paths: [a]}", "json needs paths"},
		{jsonbCol, key, `{paths: {"a.b": null}}`, `path "a.b" must start with $`},
		{jsonbCol, key, `{paths: {"$..a": null}}`, "a key is missing after the . at byte 1"},
		{jsonbCol, key, `{paths: {"$.": null}}`, "a key is missing"},
		{jsonbCol, key, `{paths: {"$[": null}}`, "[ is not closed"},
		{jsonbCol, key, `{paths: {"$[-1]": null}}`, "use [n], [*] or [\"key\"]"},
		{jsonbCol, key, `{paths: {"$[1": null}}`, "use [n], [*] or [\"key\"]"},
		{jsonbCol, key, `{paths: {"$[1234567890]": null}}`, "use [n], [*] or [\"key\"]"},
		{jsonbCol, key, `{paths: {"$[*": null}}`, "[* is not closed"},
		{jsonbCol, key, `{paths: {"$[\"a]": null}}`, "is not closed with \"]"},
		{jsonbCol, key, `{paths: {"$.a b": null}}`, `write the key "a b" as ["..."]`},
		{jsonbCol, key, `{paths: {"$a": null}}`, `unexpected 'a' at byte 1`},
		{jsonbCol, key, `{paths: {"$.a": null, "$.a": shape_upper}}`, "$.a is listed twice"},
		{jsonbCol, key, `{paths: {"$.a": emial}}`, `paths: $.a: unknown transformer "emial"`},
		{jsonbCol, key, `{paths: {"$.a": {length: 3}}}`, "the rule has no transform:"},
		{jsonbCol, key, `{paths: {"$.a": [hash]}}`, "a rule is a name or a mapping with transform:"},
		{jsonbCol, key, `{paths: {"$.a": round}}`, "round changes numbers"},
		{jsonbCol, key, `{paths: {"$.a": {transform: template, template: x}}}`, "template does not rewrite text values one by one"},
		{jsonbCol, key, `{paths: {"$.a": {transform: null, keep: 1}}}`, `unknown parameter "keep"`},
		{jsonbCol, nil, `{paths: {"$.a": {transform: weighted_choice, choices: {x: 1}}}}`, "UNDERSTUDY_KEY"},
		{jsonbCol, key, "{paths: {" + strings.Join(many, ", ") + "}}", "at most 64 paths"},
		{uniq, key, `{paths: {"$.a": null}}`, "column c is unique"},
		{jsonbCol, key, `{paths: {"$.a": null}, path: x}`, `did you mean "paths"`},
	} {
		if got := shapeErr(t, "json", tc.col, tc.key, tc.p); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q", tc.col.TypeName, tc.p, got, tc.want)
		}
	}
}

// The walker accepts exactly the documents encoding/json does, and with a rule that keeps
// every value (at many paths) gives back the same document, valid JSON again.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a": "x", "b": [1, "y", {"c": "z"}]}`, `[["a"], {"a": []}]`, `"s"`, `{"a":"\u00e9\ud83d\ude00\n"}`,
		`{"a": 1e5, "a": -0.5E+2}`, `{"a": {"a": {"a": "deep"}}}`, `[1, 2,]`, `{"a" : tru}`, "{\"a\":\"\x01\"}", `  null  `} {
		f.Add([]byte(s))
	}
	keep := `{transform: dictionary, map: {"\u0000never": x}}`
	tr := shapeNew(f, "json", jsonCol, nil, shapeParamsTB(f, `{paths: {"$": `+keep+`, "$.*": `+keep+`, "$[*][*]": `+keep+`, "$.a.a": `+keep+`, "$[0]": null}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rec := batch(mem, arrow.BinaryTypes.String, [][]byte{doc})
		defer rec.Release()
		out, err := tr.Transform(rec, 0, mem)
		if valid := json.Valid(doc); (err == nil) != valid {
			t.Fatalf("%q: error %v, but encoding/json says valid: %v", doc, err, valid)
		}
		if err != nil {
			return
		}
		defer out.Release()
		got := []byte(out.(*array.String).Value(0))
		if !json.Valid(got) {
			t.Fatalf("%q became %q, not JSON", doc, got)
		}
		var a, b any
		json.Unmarshal(doc, &a)
		json.Unmarshal(got, &b)
		if arr, ok := a.([]any); ok && len(arr) > 0 {
			arr[0] = nil // the null path
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q became %q", doc, got)
		}
	})
}

// Paths that parse print back as paths that parse to the same steps.
func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{`$.a[0]`, `$["x\"y"]`, `$.*[*]`, `$['a.b'].c`, `$..`, `$[12`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, err := jsonPathParse(p)
		if err != nil {
			return
		}
		back, err := jsonPathParse(jsonPathString(segs))
		if err != nil || !reflect.DeepEqual(back, segs) {
			t.Fatalf("%q printed as %q reads %v (%v), not %v", p, jsonPathString(segs), back, err, segs)
		}
	})
}

func BenchmarkJSON(b *testing.B) {
	key, _ := NewKey("0123456789abcdef-bench")
	vals := make([]any, 8192)
	for i := range vals {
		vals[i] = fmt.Sprintf(`{"id": %d, "email": "user%d@example.com", "plan": "pro", "tags": ["a", "b%d"], "address": {"city": "Paris", "zip": "7500%d"}, "score": 1.5e3}`, i, i, i, i%10)
	}
	p := `{paths: {"$.email": {transform: weighted_choice, choices: {x: 1, y: 2}}, "$.tags[*]": {transform: dictionary, map: {a: z}}, "$.address.zip": null}}`
	tr := shapeNew(b, "json", jsonbCol, key, shapeParamsTB(b, p))
	shapeBench(b, tr, arrow.BinaryTypes.String, vals)
}
