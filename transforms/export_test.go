package transforms

// Oracles of the rules' own tests, written out independently of the rules, for the
// conformance samples (package transforms_test).
var (
	LuhnValidForTest    = nationalIDLuhnValid
	LuhnAppendForTest   = nationalIDWithLuhn
	IBANValidForTest    = identIBANValid
	SkeletonForTest     = identSkeleton
	UUIDBytesForTest    = uuidBytes
	UUIDLayoutForTest   = uuidLayout
	IPv4SplitForTest    = ipv4Split
	DigitsLayoutForTest = func(s string) string { _, l := digitsRuns(s); return l }
)
