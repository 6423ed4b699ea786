package transforms

// Default returns a registry holding every built-in transformer: one line each.
func Default() *Registry {
	r := NewRegistry()
	// Values that erase or fix.
	r.Register(Entry{Name: "null", New: newNull,
		Summary: "Replaces every value with NULL (refused on NOT NULL columns).",
		Example: "notes: null"})
	r.Register(Entry{Name: "constant", New: newConstant,
		Summary: "Replaces every value with one fixed value, checked against the column type by the server; NULLs stay NULL unless keep_null: false.",
		Example: `country: {transform: constant, value: "US"}`})
	r.Register(Entry{Name: "hash", New: newHash,
		Summary: "Keyed HMAC-SHA256 of the value: hex text (length, default 32, capped at varchar(n)), a UUID, a non-negative integer or 32 bytes, by column type. Same input, same output in every table sharing the domain.",
		Example: "email: hash   # or {transform: hash, domain: customer-email, length: 16}"})

	// Keys and identifiers: keyed bijections that keep the format.
	r.Register(Entry{Name: "permute", New: newPermute,
		Summary: "Keyed bijection for integer and uuid keys: integers keep their type and sign (a Feistel network over the type's range), uuids are AES-encrypted. Keys stay unique, and every foreign key referencing the column follows with the same mapping.",
		Example: "id: permute"})
	r.Register(Entry{Name: "uuid", New: newUUID,
		Summary: "AES-128 encryption of UUIDs under the domain's key, in uuid and text columns (hyphens, braces and case kept): a bijection, so unique; v4: true sets the version-4 bits (not unique-safe).",
		Example: "external_id: uuid"})
	r.Register(Entry{Name: "digits", New: newDigits,
		Summary: "Replaces every run of digits with a keyed format-preserving image of the same length, keeping all other characters: ORD-2023-000123 → ORD-8141-592604. A bijection, so unique.",
		Example: "order_ref: digits"})
	r.Register(Entry{Name: "phone", New: newPhone,
		Summary: "Replaces a phone number's subscriber digits, keeping +/00 and the country calling code, a trunk 0, keep_prefix more digits and every separator: +44 20 7946 0000 → +44 20 3518 2957. A bijection, so unique.",
		Example: "phone: {transform: phone, keep_prefix: 2}"})
	r.Register(Entry{Name: "phone_e164", New: newPhoneE164,
		Summary: "Writes a phone number in E.164 form (+ and 8–15 digits), keeping the country calling code (country gives the code of national numbers); same digits as phone with the same domain.",
		Example: "mobile: {transform: phone_e164, country: \"49\"}"})
	r.Register(Entry{Name: "credit_card", New: newCreditCard,
		Summary: "Keeps the first 6 digits (issuer, so the brand) and the separators, replaces the account digits and recomputes the Luhn check digit: a valid number stays valid. A bijection, so unique.",
		Example: "card_number: credit_card"})
	r.Register(Entry{Name: "iban", New: newIBAN,
		Summary: "Keeps the country, length, bank letters and spaces of an IBAN, replaces its digits and recomputes the check digits (mod 97), so the result validates. A bijection, so unique.",
		Example: "iban: iban"})
	r.Register(Entry{Name: "national_id", New: newNationalID,
		Summary: "Replaces the digits of a national identifier of any layout (SSN 123-45-6789, tax ids), keeping separators and keep_prefix digits; luhn: true recomputes a trailing Luhn digit. A bijection, so unique.",
		Example: "ssn: {transform: national_id, keep_prefix: 0}"})
	r.Register(Entry{Name: "ipv4", New: newIPv4,
		Summary: "Keyed bijection of IPv4 addresses written as text: the first keep_subnet bits stay, the host bits are permuted per subnet; a /nn suffix stays.",
		Example: "last_ip: {transform: ipv4, keep_subnet: 16}"})
	r.Register(Entry{Name: "ipv6", New: newIPv6,
		Summary: "Keyed bijection of IPv6 addresses written as text: the first keep_subnet bits stay, the rest is permuted; %zone and /nn stay; output in RFC 5952 form.",
		Example: "last_ip6: {transform: ipv6, keep_subnet: 48}"})
	r.Register(Entry{Name: "mac", New: newMAC,
		Summary: "Keyed bijection of MAC addresses, keeping separators and letter case; the multicast/local bits stay, or with keep_oui: true the vendor's 3 bytes.",
		Example: "device_mac: {transform: mac, keep_oui: true}"})
	r.Register(Entry{Name: "mask", New: newMask,
		Summary: "Hides a text but for its first keep_first and last keep_last characters, writing char (default *) for the others; a value no longer than both is hidden whole. Not keyed; refused on unique columns.",
		Example: "card_number: {transform: mask, keep_last: 4}"})
	r.Register(Entry{Name: "regexp_replace", New: newRegexpReplace,
		Summary: "Replaces every match of a regular expression (RE2) with replacement, which may use $1 or ${name}. Not keyed; refused on unique columns.",
		Example: `note: {transform: regexp_replace, pattern: "[0-9]{4,}", replacement: "####"}`})

	// Numbers and dates: keep the shape of the data, not the values.
	r.Register(Entry{Name: "numeric_noise", New: newNumericNoise,
		Summary: "Multiplies each number by a keyed factor in [1-ratio, 1+ratio]: integers, floats and numerics, keeping sign and scale, within the column's type.",
		Example: "salary: {transform: numeric_noise, ratio: 0.1}"})
	r.Register(Entry{Name: "random_range", New: newRandomRange,
		Summary: "A keyed value drawn uniformly from [min, max] in the column's type: integer, float, numeric (keeping the value's scale), date or timestamp.",
		Example: `score: {transform: random_range, min: "0", max: "100"}`})
	r.Register(Entry{Name: "round", New: newRound,
		Summary: "Coarsens numbers: to digits decimal places (negative: tens, hundreds…), or down to a multiple of step (buckets). Not keyed.",
		Example: "income: {transform: round, step: 5000}"})
	r.Register(Entry{Name: "date_noise", New: newDateNoise,
		Summary: "Moves each date or timestamp by a keyed amount in [-max, +max] (dates by whole days); keep_year: true keeps the year.",
		Example: "created_at: {transform: date_noise, max: 30d}"})
	r.Register(Entry{Name: "truncate", New: newTruncate,
		Summary: "Cuts dates and timestamps down to the start of their year, month, day or hour (to). Not keyed.",
		Example: "signup_date: {transform: truncate, to: month}"})
	r.Register(Entry{Name: "birthdate", New: newBirthdate,
		Summary: "A keyed date of birth in the same age band (band years, default 5) on a fixed as_of date (default 2025-01-01), so ages stay in their band.",
		Example: "birth_date: {transform: birthdate, band: 10}"})

	// Choices, maps and structure.
	r.Register(Entry{Name: "weighted_choice", New: newWeightedChoice,
		Summary: "One of a fixed list of texts, picked by a keyed draw with the given weights: the same input always gets the same choice.",
		Example: "plan: {transform: weighted_choice, choices: {free: 70, pro: 25, enterprise: 5}}"})
	r.Register(Entry{Name: "dictionary", New: newDictionary,
		Summary: "Replaces texts found in map (exact match); the others are kept, made NULL or set to one value by default (keep, null or a text). Not keyed. With default keep it copies unlisted values as they are, so the PII guard does not count it as a rule for a column that looks personal.",
		Example: "city: {transform: dictionary, map: {Paris: Lyon, Berlin: Hamburg}, default: Springfield}"})
	r.Register(Entry{Name: "template", New: newTemplate,
		Summary: "Builds text from other columns of the same row, after their rules ran ({col}, {col|lower}, {col|upper}); {#} adds a keyed discriminator that keeps a unique column unique.",
		Example: `email: {transform: template, template: "{first_name|lower}.{last_name|lower}.{#}@example.com"}`})
	r.Register(Entry{Name: "json", New: newJSON,
		Summary: "Applies text rules to the string values at JSONPath paths ($.a.b, [n], [*], .*) in json, jsonb or text documents; null nulls any value; everything else stays byte for byte.",
		Example: `profile: {transform: json, paths: {"$.email": email, "$.phones[*]": phone}}`})
	r.Register(Entry{Name: "array", New: newArray,
		Summary: "Applies a text rule to every element of a text, varchar, char, name or citext array, keeping dimensions and NULL elements.",
		Example: "tags: {transform: array, element: {transform: hash, length: 8}}"})

	// Fake personal values.
	r.Register(Entry{Name: "first_name", New: newFirstName,
		Summary: "A keyed fake first name from a list (gofakeit's, about 3,000), in the input's letter case; refused on unique columns.",
		Example: "first_name: first_name"})
	r.Register(Entry{Name: "last_name", New: newLastName,
		Summary: "A keyed fake last name from a list (about 470), in the input's letter case; refused on unique columns.",
		Example: "surname: last_name"})
	r.Register(Entry{Name: "full_name", New: newFullName,
		Summary: "A keyed fake \"First Last\" name, in the input's letter case; refused on unique columns.",
		Example: "display_name: full_name"})
	r.Register(Entry{Name: "username", New: newUsername,
		Summary: "A keyed fake user name from name parts and digits (jsmith42, mary.kuhn); on a unique column it ends with a 100-bit keyed discriminator instead of digits and stays unique, kept whole within varchar(n).",
		Example: "login: username"})
	r.Register(Entry{Name: "email", New: newEmail,
		Summary: "A keyed fake address from name parts at a reserved domain (example.com, acme.example, mailbox.test…), or the input's own with keep_domain: true; on a unique column the local part ends with a 100-bit keyed discriminator and stays unique, kept whole within varchar(n).",
		Example: "email: {transform: email, keep_domain: true}"})
	r.Register(Entry{Name: "street_address", New: newStreetAddress,
		Summary: "A keyed fake street address: house number, a street name made from a last name, and a street type (4821 North Abbott Avenue); refused on unique columns.",
		Example: "street: street_address"})
	r.Register(Entry{Name: "city", New: newCity,
		Summary: "A keyed fake city: a listed US city or a made-up town name (Port Kuhnville), in the input's letter case; refused on unique columns.",
		Example: "city: city"})
	r.Register(Entry{Name: "postal_code", New: newPostalCode,
		Summary: "Keeps a postal code's shape: each digit becomes a keyed digit, each letter a keyed letter of the same case, other characters stay (SW1A 1AA → QE7T 4KX); refused on unique columns.",
		Example: "zip: postal_code"})
	r.Register(Entry{Name: "country", New: newCountry,
		Summary: "A keyed country: an ISO 3166 code of the same length for a 2- or 3-letter input (and always in char(2)/char(3) columns), else a country name; refused on unique columns.",
		Example: "country: country"})
	r.Register(Entry{Name: "company", New: newCompany,
		Summary: "A keyed fake company name made of last names (Abbott LLC, Kuhn and Sons, Abbott-Schmidt), in the input's letter case; refused on unique columns.",
		Example: "employer: company"})
	r.Register(Entry{Name: "job_title", New: newJobTitle,
		Summary: "A keyed fake job title: descriptor, area and role (Senior Data Engineer), in the input's letter case; refused on unique columns.",
		Example: "title: job_title"})
	r.Register(Entry{Name: "url", New: newURL,
		Summary: "A keyed fake URL keeping the input's scheme, at a host under a reserved name (.example, .test, example.com), with as many fake path segments (up to 3); query, fragment, port and user are dropped. Refused on unique columns.",
		Example: "website: url"})
	r.Register(Entry{Name: "domain", New: newDomain,
		Summary: "A keyed fake domain name under a reserved one (kuhn-schmidt.example.com, lamp-river.test); a www. prefix stays. Refused on unique columns.",
		Example: "company_domain: domain"})
	r.Register(Entry{Name: "user_agent", New: newUserAgent,
		Summary: "A keyed, realistic browser User-Agent string (Chrome, Edge, Firefox, Safari on desktop and mobile), unrelated to the input; refused on unique columns.",
		Example: "user_agent: user_agent"})
	r.Register(Entry{Name: "lorem", New: newLorem,
		Summary: "Lorem-ipsum words as long as the input in characters, never longer (at most one short), keeping a leading capital and a final period; refused on unique columns.",
		Example: "notes: lorem"})
	return r
}
