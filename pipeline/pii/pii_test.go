package pii

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/schemas"
)

func TestMatchNameAcrossLanguagesAndStyles(t *testing.T) {
	text := func(n string) schemas.Column {
		return schemas.Column{Name: n, BaseOID: pgtype.TextOID, TypeName: "text"}
	}
	date := func(n string) schemas.Column {
		return schemas.Column{Name: n, BaseOID: pgtype.DateOID, TypeName: "date"}
	}
	cases := []struct {
		col  schemas.Column
		want string
	}{
		{text("email"), "email"}, {text("customerEmail"), "email"}, {text("E-Mail"), "email"}, {text("correo_electronico"), "email"}, {text("courriel"), "email"},
		{text("phone_number"), "phone"}, {text("Telefonnummer"), "phone"}, {text("mobile"), "phone"}, {text("telefono"), "phone"},
		{text("first_name"), "first_name"}, {text("FirstName"), "first_name"}, {text("vorname"), "first_name"}, {text("prénom"), "first_name"}, {text("nombre"), "first_name"},
		{text("surname"), "last_name"}, {text("nachname"), "last_name"}, {text("apellidos"), "last_name"},
		{text("billing_address"), "street_address"}, {text("strasse"), "street_address"}, {text("Straße"), "street_address"}, {text("direccion"), "street_address"},
		{text("city"), "city"}, {text("wohnort"), "city"}, {text("ville"), "city"},
		{text("zip"), "postal_code"}, {text("plz"), "postal_code"}, {text("code_postal"), "postal_code"},
		{date("birthdate"), "birthdate"}, {date("date_of_birth"), "birthdate"}, {date("geburtsdatum"), "birthdate"}, {date("fecha_de_nacimiento"), "birthdate"},
		{text("iban"), "iban"}, {text("card_number"), "credit_card"}, {text("ssn"), "national_id"}, {text("steuer_id"), "national_id"},
		{text("ip_address"), "ip_address"}, {text("username"), "username"}, {text("password_hash"), "secret"},
		// Not personal.
		{text("status"), ""}, {text("product_name"), ""}, {text("description"), ""}, {date("created_at"), ""},
		{schemas.Column{Name: "city_id", BaseOID: pgtype.Int4OID, TypeName: "integer"}, ""},
		{date("email"), ""}, // a date column is not an email, whatever its name
	}
	for _, c := range cases {
		got, _, _ := MatchName(c.col)
		if got != c.want {
			t.Errorf("%s (%s): %q, want %q", c.col.Name, c.col.TypeName, got, c.want)
		}
	}
}

func TestValueDetectors(t *testing.T) {
	yes := map[string]func(string) bool{
		"alice.smith+shop@example.co.uk": isEmail, "+49 30 1234567": isPhone, "(555) 123-4567": isPhone, "0171-2345678": isPhone,
		"DE89 3704 0044 0532 0130 00": isIBAN, "GB82WEST12345698765432": isIBAN, "4111 1111 1111 1111": isCardNumber,
		"378282246310005": isCardNumber, "192.168.1.20": isIP, "2001:db8::1": isIP, "10.0.0.0/8": isIP, "María José": isFirstName,
	}
	no := map[string]func(string) bool{
		"alice@": isEmail, "12345": isPhone, "20231231": isPhone, "DE89 3704 0044 0532 0130 01": isIBAN,
		"4111 1111 1111 1112": isCardNumber, "300.1.1.1": isIP, "Widget": isFirstName,
	}
	for v, f := range yes {
		if !f(v) {
			t.Errorf("%q not recognised", v)
		}
	}
	for v, f := range no {
		if f(v) {
			t.Errorf("%q wrongly recognised", v)
		}
	}
}

// Content sampling finds personal data behind names that do not say so.
func TestDetectSamplesContent(t *testing.T) {
	dsn := pgtest.NewDB(t)
	conn := pgtest.Connect(t, dsn)
	pgtest.Exec(t, conn, `
CREATE TABLE contacts_raw (id int, c1 text, c2 text, c3 text, c4 text, note text);
INSERT INTO contacts_raw SELECT g, 'user' || g || '@example.org', '+33 1 23 45 67 ' || lpad((g % 100)::text, 2, '0'),
  CASE WHEN g % 2 = 0 THEN 'Maria' ELSE 'John' END || ' Doe', '10.1.' || (g % 250) || '.7', 'order ' || g
FROM generate_series(1, 50) g;`)
	cat, err := schemas.LoadCatalog(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	found, err := Detect(context.Background(), conn, cat.Tables, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range found {
		got[f.Column] = f.Category
	}
	want := map[string]string{"c1": "email", "c2": "phone", "c3": "first_name", "c4": "ip_address"}
	for col, cat := range want {
		if got[col] != cat {
			t.Errorf("column %s: %q, want %q (all: %v)", col, got[col], cat, found)
		}
	}
	if _, ok := got["note"]; ok {
		t.Errorf("free text flagged: %v", found)
	}
}
