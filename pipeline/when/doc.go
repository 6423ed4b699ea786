// Package when parses and evaluates the conditions of conditional rules: the `when` key of a
// column rule, a small SQL-like boolean expression over the row's columns.
//
//	phone: {transform: phone, when: "country = 'DE'"}
//	notes: {transform: null, when: "status IN ('closed', 'banned') AND notes IS NOT NULL"}
//
// The grammar (keywords are case-insensitive):
//
//	cond      = or
//	or        = and { OR and }
//	and       = not { AND not }
//	not       = NOT not | "(" cond ")" | predicate
//	predicate = column ( op literal
//	                   | IS [NOT] NULL
//	                   | [NOT] IN "(" literal { "," literal } ")"
//	                   | [NOT] LIKE string )
//	op        = "=" | "<>" | "!=" | "<" | "<=" | ">" | ">="
//	column    = name | "quoted name"        (unquoted names are folded to lower case, as in SQL)
//	literal   = string | [-|+] number | TRUE | FALSE
//	string    = 'text'                      ('' is a quote inside the text)
//	number    = 123 | 12.50 | .5
//
// A comparison is always between a column and a literal of the column's type: a text column
// (text, varchar, char, name, citext, an enum) with a string; an integer column with an integer;
// numeric, real and double precision with a number; boolean with TRUE or FALSE; date,
// timestamp, timestamptz, time and uuid with a string in the type's ISO form ('2024-01-31',
// '2024-01-31 12:00:00', '2024-01-31 12:00:00+02', '12:30', 'infinity'). A timestamptz
// literal must carry its UTC offset: the server's time zone is not known here. Any column can
// be tested with IS [NOT] NULL. LIKE takes % (any run of characters) and _ (one character),
// with \ escaping the next pattern character, as PostgreSQL's default.
//
// The meaning is PostgreSQL's: a comparison with a NULL value is unknown, NOT of unknown is
// unknown, and a rule rewrites only the rows where the condition is true, so unknown selects
// nothing. char(n) values compare without their trailing blanks (LIKE sees them, as in
// PostgreSQL); citext compares and matches case-insensitively; numeric compares exactly; real
// and double precision follow PostgreSQL in ordering NaN above every other value and equal to
// itself.
//
// What it refuses, at plan time: unknown columns (naming the nearest one); a literal that is not
// of the column's type; ordering (<, >, ...) of text and enum columns, whose order is the
// database's collation or the enum's declaration, neither of which is reproduced here; LIKE on
// a non-text column; comparisons of columns of other types (json, bytea, arrays, ...), which take
// only IS [NOT] NULL; NULL as a literal (x = NULL is never true: write x IS NULL).
//
// A condition reads the values the batch arrived with, before any rule of the table ran.
//
// Evaluation works on a whole Arrow record batch at once and allocates nothing per row. It
// reads both forms a column can arrive in from schemas/pgarrow: the raw PostgreSQL binary
// wire bytes (every column without a rule) and the native Arrow types (a column whose own rule
// asked for native decoding).
//
// It is not a SQL engine: there are no functions, no arithmetic, no casts and no comparisons
// between two columns.
package when
