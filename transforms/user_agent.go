package transforms

import "strconv"

// userAgentRule writes a browser User-Agent header as today's browsers send them: Chrome,
// Edge, Firefox and Safari on Windows, macOS, Linux, Android and iOS, with keyed versions.
// The input is only the seed: the output says nothing of the device it came from. Real
// browsers send these very strings, so an output may equal a value of the source by chance.
type userAgentRule struct {
	subkey []byte
}

var _ TextRule = (*userAgentRule)(nil)

func newUserAgent(env Env) (Transformer, error) {
	return fakeNewSimple(env, "user_agent", func(sk []byte) TextRule { return &userAgentRule{subkey: sk} })
}

func (r *userAgentRule) Subkey() []byte { return r.subkey }

const (
	uaMozilla   = "Mozilla/5.0 ("
	uaWebKit    = ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/"
	uaMac       = "Macintosh; Intel Mac OS X 10_15_7"
	uaGecko     = ") Gecko/20100101 Firefox/"
	uaSafariKit = ") AppleWebKit/605.1.15 (KHTML, like Gecko) Version/"
	// Version ranges: the releases of 2023 and 2024.
	uaChromeLow, uaChromeHigh   = 112, 131
	uaFirefoxLow, uaFirefoxHigh = 110, 133
)

func (r *userAgentRule) Text(k *Keyed, dst, _ []byte) ([]byte, error) {
	dst = append(dst, uaMozilla...)
	switch x := k.IntN(100); {
	case x < 62: // Chrome, and Edge on Windows
		major := k.Range(uaChromeLow, uaChromeHigh)
		mobile := false
		edge := false
		switch p := k.IntN(10); {
		case p < 5:
			dst = append(dst, Pick(k, fakeWindowsPlatforms)...)
			edge = k.IntN(4) == 0
		case p < 7:
			dst = append(dst, uaMac...)
		case p < 8:
			dst = append(append(dst, "X11; Linux "...), Pick(k, fakeLinuxCPUs)...)
		default:
			dst = fakeAppendNumber(append(dst, "Linux; Android "...), k, 10, 14)
			dst = append(append(dst, "; "...), Pick(k, fakeAndroidDevices)...)
			mobile = true
		}
		dst = strconv.AppendInt(append(dst, uaWebKit...), major, 10)
		dst = append(dst, ".0.0.0 "...)
		if mobile {
			dst = append(dst, "Mobile "...)
		}
		dst = append(dst, "Safari/537.36"...)
		if edge {
			dst = strconv.AppendInt(append(dst, " Edg/"...), major, 10)
			dst = fakeAppendNumber(append(dst, ".0."...), k, 1700, 2900)
			dst = fakeAppendNumber(append(dst, '.'), k, 10, 99)
		}
	case x < 82: // Firefox
		major := k.Range(uaFirefoxLow, uaFirefoxHigh)
		switch p := k.IntN(10); {
		case p < 6:
			dst = append(dst, "Windows NT 10.0; Win64; x64"...)
		case p < 8:
			dst = append(dst, "Macintosh; Intel Mac OS X 10.15"...)
		case p < 9:
			dst = append(dst, "X11; Ubuntu; Linux x86_64"...)
		default:
			dst = append(append(dst, "X11; Linux "...), Pick(k, fakeLinuxCPUs)...)
		}
		dst = strconv.AppendInt(append(dst, "; rv:"...), major, 10)
		dst = strconv.AppendInt(append(dst, ".0"+uaGecko...), major, 10)
		dst = append(dst, ".0"...)
	default: // Safari on a Mac, an iPhone or an iPad
		major, minor := k.Range(15, 18), k.Range(0, 6)
		mobile := true
		switch p := k.IntN(3); p {
		case 0:
			dst = append(dst, uaMac...)
			mobile = false
		case 1:
			dst = strconv.AppendInt(append(dst, "iPhone; CPU iPhone OS "...), major, 10)
			dst = strconv.AppendInt(append(dst, '_'), minor, 10)
			dst = append(dst, " like Mac OS X"...)
		default:
			dst = strconv.AppendInt(append(dst, "iPad; CPU OS "...), major, 10)
			dst = strconv.AppendInt(append(dst, '_'), minor, 10)
			dst = append(dst, " like Mac OS X"...)
		}
		dst = strconv.AppendInt(append(dst, uaSafariKit...), major, 10)
		dst = strconv.AppendInt(append(dst, '.'), minor, 10)
		if mobile {
			dst = append(dst, " Mobile/15E148 Safari/604.1"...)
		} else {
			dst = append(dst, " Safari/605.1.15"...)
		}
	}
	return dst, nil
}
