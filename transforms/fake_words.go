package transforms

import (
	"sort"
	"strings"

	"github.com/brianvoe/gofakeit/v6/data"
)

// Word lists of the fake-value rules, built once at package init as [][]byte so that picking
// one allocates nothing.
//
// They come from gofakeit's data package (github.com/brianvoe/gofakeit/v6/data, MIT licence).
// Only its lists are used, never its random generators: every draw is from our keyed stream,
// so an output is a pure function of (key, rule domain, input value) for a given build. A
// gofakeit release that edits a list changes the fake values too; TestFakeWordListsArePinned
// fails first, so an upgrade is a deliberate act. The few lists gofakeit does not have (ISO
// 3166 alpha-3 codes, reserved e-mail domains, browser platforms) are written out here.
var (
	fakeFirstNames = fakeList(data.Person["first"])
	fakeLastNames  = fakeList(data.Person["last"])
	// Lower-case ASCII letters only, for user names, e-mail local parts and host names.
	fakeFirstSlugs = fakeSlugs(data.Person["first"])
	fakeLastSlugs  = fakeSlugs(data.Person["last"])

	fakeCities         = fakeList(data.Address["city"])
	fakeStreetPrefixes = fakeList(data.Address["street_prefix"]) // North, East, Lake…
	fakeStreetTypes    = fakeList(data.Address["street_name"])   // the USPS suffixes: Avenue, Street…
	fakeNameEndings    = fakeList(data.Address["street_suffix"]) // ville, ton, burgh…

	fakeCountries       = fakeList(data.Address["country"])
	fakeCountryAlpha2   = fakeList(data.Address["country_abr"])
	fakeCountryAlpha3   = fakeList(strings.Fields(fakeAlpha3Codes))
	fakeCompanySuffixes = fakeList(data.Company["suffix"]) // Inc, and Sons, LLC, Group

	fakeJobDescriptors = fakeList(data.Job["descriptor"])
	fakeJobLevels      = fakeList(data.Job["level"])
	fakeJobTitles      = fakeList(data.Job["title"])

	fakeNouns = fakeSlugs(data.Word["noun_countable"]) // URL path segments and host labels

	fakeLinuxCPUs = fakeList(data.Computer["linux_processor"])

	fakeLorem = newFakeLengthList(data.Lorem["word"])
)

// fakeAlpha3Codes are the ISO 3166-1 alpha-3 codes, in the order of gofakeit's country list
// (which has names and alpha-2 codes only).
const fakeAlpha3Codes = `AND ARE AFG ATG AIA ALB ARM AGO ATA ARG ASM AUT AUS ABW ALA AZE BIH BRB BGD BEL BFA BGR
BHR BDI BEN BLM BMU BRN BOL BES BRA BHS BTN BVT BWA BLR BLZ CAN CCK COD CAF COG CHE CIV COK CHL CMR CHN
COL CRI CUB CPV CUW CXR CYP CZE DEU DJI DNK DMA DOM DZA ECU EST EGY ESH ERI ESP ETH FIN FJI FLK FSM FRO
FRA GAB GBR GRD GEO GUF GGY GHA GIB GRL GMB GIN GLP GNQ GRC SGS GTM GUM GNB GUY HKG HMD HND HRV HTI HUN
IDN IRL ISR IMN IND IOT IRQ IRN ISL ITA JEY JAM JOR JPN KEN KGZ KHM KIR COM KNA PRK KOR KWT CYM KAZ LAO
LBN LCA LIE LKA LBR LSO LTU LUX LVA LBY MAR MCO MDA MNE MAF MDG MHL MKD MLI MMR MNG MAC MNP MTQ MRT MSR
MLT MUS MDV MWI MEX MYS MOZ NAM NCL NER NFK NGA NIC NLD NOR NPL NRU NIU NZL OMN PAN PER PYF PNG PHL PAK
POL SPM PCN PRI PSE PRT PLW PRY QAT REU ROU SRB RUS RWA SAU SLB SYC SDN SWE SGP SHN SVN SJM SVK SLE SMR
SEN SOM SUR SSD STP SLV SXM SYR SWZ TCA TCD ATF TGO THA TJK TKL TLS TKM TUN TON TUR TTO TUV TWN TZA UKR
UGA UMI USA URY UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM MYT ZAF ZMB ZWE`

// fakeEmailDomains are the domains of fake e-mail addresses: all under names reserved for
// examples and tests (RFC 2606: example.com, .org, .net and the TLDs .example and .test), so
// no fake address can ever reach a real mailbox.
var fakeEmailDomains = fakeList([]string{
	"example.com", "example.org", "example.net",
	"mail.example.com", "mail.example.org", "post.example.net", "inbox.example.com",
	"acme.example", "globex.example", "initech.example", "mailbox.test", "webmail.test",
})

// fakeHostSuffixes end every fake host name (url, domain): reserved too, so no fake link
// points at a real site.
var fakeHostSuffixes = fakeList([]string{"example.com", "example.org", "example.net", "example", "test"})

// Browser user agents: the platform tokens of today's browsers (gofakeit's lists are those of
// Windows NT 4.0 to 6.2, which no modern browser sends).
var (
	fakeWindowsPlatforms = fakeList([]string{"Windows NT 10.0; Win64; x64", "Windows NT 10.0; WOW64", "Windows NT 10.0"})
	fakeAndroidDevices   = fakeList([]string{"K", "SM-S918B", "SM-A546B", "Pixel 7", "Pixel 8 Pro", "moto g power (2022)"})
)

// fakeList copies a list as byte slices, without duplicates (first occurrence kept, so the
// order, and thus every draw, is fixed by the source list).
func fakeList(src []string) [][]byte {
	out := make([][]byte, 0, len(src))
	seen := make(map[string]bool, len(src))
	for _, s := range src {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, []byte(s))
	}
	return out
}

// fakeSlugs is fakeList of the words lower-cased, keeping ASCII letters only; a word left
// with none is dropped.
func fakeSlugs(src []string) [][]byte {
	slugs := make([]string, 0, len(src))
	for _, s := range src {
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case 'a' <= c && c <= 'z':
				b = append(b, c)
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			}
		}
		slugs = append(slugs, string(b))
	}
	return fakeList(slugs)
}

// fakeFit keeps the entries of list of at most n characters, so that a varchar(n) column
// gets whole names rather than cut ones; with no limit (n ≤ 0), or if none is short enough,
// it returns list as it is (TextBatch then cuts).
func fakeFit(list [][]byte, n int) [][]byte {
	if n <= 0 {
		return list
	}
	var out [][]byte
	for _, w := range list {
		if fakeChars(w) <= n {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return list
	}
	return out
}

// fakeLengthList is a word list sorted by length, to draw a word that fits a given space.
type fakeLengthList struct {
	words [][]byte // ASCII, shortest first
	upTo  []int    // upTo[n]: how many words have at most n letters
}

func newFakeLengthList(src []string) *fakeLengthList {
	l := &fakeLengthList{words: fakeList(src)}
	sort.SliceStable(l.words, func(i, j int) bool { return len(l.words[i]) < len(l.words[j]) })
	longest := len(l.words[len(l.words)-1])
	l.upTo = make([]int, longest+1)
	for _, w := range l.words {
		l.upTo[len(w)]++
	}
	for n := 1; n <= longest; n++ {
		l.upTo[n] += l.upTo[n-1]
	}
	return l
}

// pick draws a word of at most n letters, or returns nil if there is none.
func (l *fakeLengthList) pick(k *Keyed, n int) []byte {
	if n <= 0 {
		return nil
	}
	c := l.upTo[min(n, len(l.upTo)-1)]
	if c == 0 {
		return nil
	}
	return l.words[k.IntN(c)]
}
