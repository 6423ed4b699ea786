// Package pii finds columns that look like personal data: by their names (English, German,
// French and Spanish forms) and by sampling their content (emails, phone numbers, IBANs, card
// numbers, IP addresses, person names). The PII guard refuses to copy such a column unless a
// rule covers it or it is marked keep; `understudy init` turns findings into a starter config.
//
// It only reads: a sample of at most SampleRows values per table. It is not a classifier
// to be trusted blindly — it exists so that a reviewer sees every column that might matter.
package pii

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/schemas"
)

// Finding is a column that looks personal.
type Finding struct {
	Table    schemas.Name
	Column   string
	Category string // email, phone, first_name, ...
	Reason   string // why it was flagged
	Suggest  string // the rule to suggest, e.g. "email" or "{transform: hash}"
	// Passthrough, set by the guard for a column whose rule copies some values as they are,
	// is what that rule says about it (transforms.Passthrough).
	Passthrough string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s.%s (%s: %s; suggested rule: %s)", f.Table, f.Column, f.Category, f.Reason, f.Suggest)
}

// category is one kind of personal data: how its column names look, and how its values
// look (nil: names only).
type category struct {
	name    string
	suggest string
	names   *regexp.Regexp
	values  func(string) bool
	types   func(c schemas.Column) bool // which column types the name patterns apply to
}

func textual(c schemas.Column) bool {
	switch c.BaseOID {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return true
	}
	return strings.HasSuffix(c.TypeName, "citext")
}

func dateish(c schemas.Column) bool {
	switch c.BaseOID {
	case pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID:
		return true
	}
	return textual(c)
}

func anyType(schemas.Column) bool { return true }

// Column names are matched whole-word against these (after lower-casing; words are split
// at _, - and spaces, and camelCase is split too).
var categories = []category{
	{name: "email", suggest: "email", types: textual, values: isEmail,
		names: words(`e?-?mail(_?addr(ess)?)?|email_?address|correo(_electronico)?|courriel|adresse_?mail`)},
	{name: "phone", suggest: "phone", types: textual, values: isPhone,
		names: words(`phone(_?number)?|tel|telephone|telefon(nummer)?|telefono|tel[eé]fono|mobile|mobil|handy|cell(_?phone)?|fax|portable|m[oó]vil|celular`)},
	{name: "first_name", suggest: "first_name", types: textual, values: isFirstName,
		names: words(`first_?name|firstname|given_?name|fore_?name|fname|vorname|pr[eé]nom|prenom|nombre`)},
	{name: "last_name", suggest: "last_name", types: textual,
		names: words(`last_?name|lastname|surname|family_?name|lname|nachname|familienname|nom(_de_famille)?|apellidos?`)},
	{name: "full_name", suggest: "full_name", types: textual,
		names: words(`full_?name|customer_?name|contact_?name|person_?name|display_?name|nom_complet|nombre_completo|vollst[aä]ndiger_?name`)},
	{name: "street_address", suggest: "street_address", types: textual,
		names: words(`address(_?line)?\d?|street(_?address)?|addr\d?|stra(ss|ß)e|anschrift|adresse|rue|calle|direcci[oó]n|domicilio`)},
	{name: "city", suggest: "city", types: textual,
		names: words(`city|town|stadt|ort|wohnort|ville|ciudad|localidad`)},
	{name: "postal_code", suggest: "postal_code", types: textual,
		names: words(`zip(_?code)?|postal_?code|post_?code|plz|postleitzahl|code_?postal|c[oó]digo_?postal`)},
	{name: "birthdate", suggest: "birthdate", types: dateish,
		names: words(`birth_?date|birthday|date_of_birth|dob|born(_on)?|geburtsdatum|geburtstag|date_de_naissance|naissance|fecha_de_nacimiento|nacimiento`)},
	{name: "iban", suggest: "iban", types: textual, values: isIBAN,
		names: words(`iban|bank_?account(_?number)?|account_?number|kontonummer|kto|num[eé]ro_de_compte|cuenta(_bancaria)?`)},
	{name: "credit_card", suggest: "credit_card", types: textual, values: isCardNumber,
		names: words(`(credit_?)?card_?(number|no|num)|cc_?(number|num)|pan|kreditkarte(nnummer)?|carte_bancaire|tarjeta`)},
	{name: "national_id", suggest: "national_id", types: textual,
		names: words(`ssn|social_?security(_?number)?|national_?id|passport(_?(number|no))?|tax_?id|steuer_?id|steuernummer|personalausweis|nir|insee|dni|nif|nie|curp`)},
	{name: "ip_address", suggest: "ipv4", types: textual, values: isIP,
		names: words(`ip(_?addr(ess)?)?|remote_?addr|client_?ip|last_?login_?ip`)},
	{name: "username", suggest: "username", types: textual,
		names: words(`user_?name|login|benutzername|nom_d_utilisateur|usuario`)},
	{name: "secret", suggest: "null", types: anyType,
		names: words(`password|passwd|pwd|password_?hash|passwort|mot_de_passe|contrase[nñ]a|api_?key|secret|access_?token|refresh_?token`)},
}

func words(alts string) *regexp.Regexp {
	return regexp.MustCompile(`^(` + alts + `)$`)
}

var camel = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// normalise turns "customerEmail", "Customer-Email" and "customer email" into
// "customer_email".
func normalise(name string) string {
	name = camel.ReplaceAllString(name, "${1}_${2}")
	name = strings.ToLower(name)
	return strings.NewReplacer("-", "_", " ", "_", ".", "_").Replace(name)
}

// MatchName returns the category a column name suggests: the whole name, or its suffix after
// a prefix word ("billing_email", "customer_first_name").
func MatchName(col schemas.Column) (cat string, suggest string, ok bool) {
	n := normalise(col.Name)
	parts := strings.Split(n, "_")
	for i := range parts {
		tail := strings.Join(parts[i:], "_")
		for _, c := range categories {
			if c.types(col) && c.names.MatchString(tail) {
				return c.name, c.suggest, true
			}
		}
	}
	return "", "", false
}
