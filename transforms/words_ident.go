package transforms

// Reference tables of the identifier rules: ITU-T E.164 country calling codes and IBAN
// lengths. Both change rarely; a missing entry only makes a rule fall back to its generic
// handling (see phone and iban), never breaks uniqueness.

// identCallingCodes lists the assigned country calling codes with the ISO 3166 regions (or
// a name, for non-geographic codes) that use them. The codes form a prefix code: no code is
// the beginning of another (TestIdentCallingCodesArePrefixFree).
var identCallingCodes = []struct{ code, regions string }{
	{"1", "US CA PR DO JM TT BS BB AG AI VG KY BM GD TC MS MP GU AS SX LC DM VC KN VI"},
	{"20", "EG"}, {"211", "SS"}, {"212", "MA EH"}, {"213", "DZ"}, {"216", "TN"}, {"218", "LY"},
	{"220", "GM"}, {"221", "SN"}, {"222", "MR"}, {"223", "ML"}, {"224", "GN"}, {"225", "CI"},
	{"226", "BF"}, {"227", "NE"}, {"228", "TG"}, {"229", "BJ"}, {"230", "MU"}, {"231", "LR"},
	{"232", "SL"}, {"233", "GH"}, {"234", "NG"}, {"235", "TD"}, {"236", "CF"}, {"237", "CM"},
	{"238", "CV"}, {"239", "ST"}, {"240", "GQ"}, {"241", "GA"}, {"242", "CG"}, {"243", "CD"},
	{"244", "AO"}, {"245", "GW"}, {"246", "IO"}, {"247", "AC"}, {"248", "SC"}, {"249", "SD"},
	{"250", "RW"}, {"251", "ET"}, {"252", "SO"}, {"253", "DJ"}, {"254", "KE"}, {"255", "TZ"},
	{"256", "UG"}, {"257", "BI"}, {"258", "MZ"}, {"260", "ZM"}, {"261", "MG"}, {"262", "RE YT"},
	{"263", "ZW"}, {"264", "NA"}, {"265", "MW"}, {"266", "LS"}, {"267", "BW"}, {"268", "SZ"},
	{"269", "KM"}, {"27", "ZA"}, {"290", "SH TA"}, {"291", "ER"}, {"297", "AW"}, {"298", "FO"},
	{"299", "GL"},
	{"30", "GR"}, {"31", "NL"}, {"32", "BE"}, {"33", "FR"}, {"34", "ES"}, {"350", "GI"},
	{"351", "PT"}, {"352", "LU"}, {"353", "IE"}, {"354", "IS"}, {"355", "AL"}, {"356", "MT"},
	{"357", "CY"}, {"358", "FI AX"}, {"359", "BG"}, {"36", "HU"}, {"370", "LT"}, {"371", "LV"},
	{"372", "EE"}, {"373", "MD"}, {"374", "AM"}, {"375", "BY"}, {"376", "AD"}, {"377", "MC"},
	{"378", "SM"}, {"379", "VA"}, {"380", "UA"}, {"381", "RS"}, {"382", "ME"}, {"383", "XK"},
	{"385", "HR"}, {"386", "SI"}, {"387", "BA"}, {"389", "MK"}, {"39", "IT"},
	{"40", "RO"}, {"41", "CH"}, {"420", "CZ"}, {"421", "SK"}, {"423", "LI"}, {"43", "AT"},
	{"44", "GB GG JE IM"}, {"45", "DK"}, {"46", "SE"}, {"47", "NO SJ"}, {"48", "PL"}, {"49", "DE"},
	{"500", "FK"}, {"501", "BZ"}, {"502", "GT"}, {"503", "SV"}, {"504", "HN"}, {"505", "NI"},
	{"506", "CR"}, {"507", "PA"}, {"508", "PM"}, {"509", "HT"}, {"51", "PE"}, {"52", "MX"},
	{"53", "CU"}, {"54", "AR"}, {"55", "BR"}, {"56", "CL"}, {"57", "CO"}, {"58", "VE"},
	{"590", "GP BL MF"}, {"591", "BO"}, {"592", "GY"}, {"593", "EC"}, {"594", "GF"},
	{"595", "PY"}, {"596", "MQ"}, {"597", "SR"}, {"598", "UY"}, {"599", "CW BQ"},
	{"60", "MY"}, {"61", "AU CX CC"}, {"62", "ID"}, {"63", "PH"}, {"64", "NZ"}, {"65", "SG"},
	{"66", "TH"}, {"670", "TL"}, {"672", "NF AQ"}, {"673", "BN"}, {"674", "NR"}, {"675", "PG"},
	{"676", "TO"}, {"677", "SB"}, {"678", "VU"}, {"679", "FJ"}, {"680", "PW"}, {"681", "WF"},
	{"682", "CK"}, {"683", "NU"}, {"685", "WS"}, {"686", "KI"}, {"687", "NC"}, {"688", "TV"},
	{"689", "PF"}, {"690", "TK"}, {"691", "FM"}, {"692", "MH"},
	{"7", "RU KZ"},
	{"800", "international freephone"}, {"808", "international shared cost"}, {"81", "JP"},
	{"82", "KR"}, {"84", "VN"}, {"850", "KP"}, {"852", "HK"}, {"853", "MO"}, {"855", "KH"},
	{"856", "LA"}, {"86", "CN"}, {"870", "Inmarsat"}, {"878", "universal personal telecom"},
	{"880", "BD"}, {"881", "global mobile satellite"}, {"882", "international networks"},
	{"883", "international networks 2"}, {"886", "TW"}, {"888", "OCHA"},
	{"90", "TR"}, {"91", "IN"}, {"92", "PK"}, {"93", "AF"}, {"94", "LK"}, {"95", "MM"},
	{"960", "MV"}, {"961", "LB"}, {"962", "JO"}, {"963", "SY"}, {"964", "IQ"}, {"965", "KW"},
	{"966", "SA"}, {"967", "YE"}, {"968", "OM"}, {"970", "PS"}, {"971", "AE"}, {"972", "IL"},
	{"973", "BH"}, {"974", "QA"}, {"975", "BT"}, {"976", "MN"}, {"977", "NP"},
	{"979", "international premium rate"}, {"98", "IR"}, {"992", "TJ"}, {"993", "TM"},
	{"994", "AZ"}, {"995", "GE"}, {"996", "KG"}, {"998", "UZ"},
}

// identIBANLengths is the length of an IBAN, by country (ISO 3166 code), per the IBAN
// registry.
var identIBANLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
	"BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
	"DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
	"GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
	"IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
	"LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
	"SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
	"TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
