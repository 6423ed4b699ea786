package pii

import (
	"net/netip"
	"regexp"
	"strings"
)

var (
	emailRe = regexp.MustCompile(`^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$`)
	phoneRe = regexp.MustCompile(`^\+?\(?[0-9][0-9 ()./-]{5,19}[0-9]$`)
)

func isEmail(s string) bool { return len(s) <= 254 && emailRe.MatchString(s) }

// isPhone: 7 to 15 digits with the usual separators, not a plain date or a plain number
// starting with a zero-less run that looks like an amount.
func isPhone(s string) bool {
	if !phoneRe.MatchString(s) {
		return false
	}
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits < 7 || digits > 15 {
		return false
	}
	// A bare run of digits is as likely an order number as a phone number, unless it is
	// written as one (+ or a leading 0 followed by separators).
	return strings.ContainsAny(s, "+ ()-./") || strings.HasPrefix(s, "0")
}

// isIBAN checks the shape and the ISO 7064 mod 97-10 check digits.
func isIBAN(s string) bool {
	s = strings.ReplaceAll(strings.ToUpper(s), " ", "")
	if len(s) < 15 || len(s) > 34 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' || s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9' {
		return false
	}
	rot := s[4:] + s[:4]
	rem := 0
	for _, r := range rot {
		switch {
		case r >= '0' && r <= '9':
			rem = (rem*10 + int(r-'0')) % 97
		case r >= 'A' && r <= 'Z':
			v := int(r-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// isCardNumber: 13 to 19 digits (spaces or dashes allowed) passing the Luhn check.
func isCardNumber(s string) bool {
	var digits []int
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, int(r-'0'))
		case r == ' ' || r == '-':
		default:
			return false
		}
	}
	if len(digits) < 13 || len(digits) > 19 {
		return false
	}
	sum := 0
	for i := range digits {
		d := digits[len(digits)-1-i]
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func isIP(s string) bool {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// isFirstName: the value's first word is a common first name.
func isFirstName(s string) bool {
	w := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(w, " -"); i > 0 {
		w = w[:i]
	}
	return commonFirstNames[w]
}

// commonFirstNames are frequent first names across English-, German-, French- and
// Spanish-speaking countries, enough to tell a column of names from other text.
var commonFirstNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`
james john robert michael william david richard joseph thomas charles christopher daniel
matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald
edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott brandon
benjamin samuel frank gregory raymond alexander patrick jack dennis jerry tyler aaron jose adam
henry nathan douglas zachary peter kyle walter ethan jeremy harold keith christian roger noah
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty
margaret sandra ashley kimberly emily donna michelle dorothy carol amanda melissa deborah
stephanie rebecca sharon laura cynthia kathleen amy shirley angela helen anna brenda pamela
nicole emma samantha katherine christine debra rachel catherine carolyn janet ruth maria
heather diane virginia julie joyce victoria olivia kelly christina lauren joan evelyn judith
megan cheryl andrea hannah martha jacqueline frances gloria ann teresa kathryn sara janice
jean alice madison doris abigail julia judy grace denise amber marilyn beverly danielle
theresa sophia marie diana brittany natalie isabella charlotte rose alexis kayla
hans peter klaus jürgen juergen wolfgang michael thomas andreas stefan uwe frank bernd
dieter günter guenter horst manfred heinz ralf sven lukas leon finn jonas paul felix max
ursula monika petra elke sabine renate helga karin brigitte ingrid erika andrea gabriele
claudia susanne birgit heike anja katrin sandra nicole stefanie julia lena lea mia
jean pierre michel philippe alain nicolas christophe patrick daniel françois francois
laurent éric stéphane stephane olivier sébastien sebastien julien david frédéric
marie nathalie isabelle sylvie catherine françoise francoise valérie valerie christine
sandrine sophie céline celine chloé chloe camille léa manon inès ines
josé jose antonio manuel francisco juan david javier daniel carlos jesús jesus alejandro
miguel rafael pedro pablo ángel angel sergio fernando luis jorge alberto álvaro alvaro
maría carmen ana isabel dolores pilar teresa rosa francisca antonia mercedes lucía lucia
paula laura marta cristina elena raquel silvia sara beatriz patricia
mohammed muhammad ahmed ali fatima aisha wei li wang zhang yuki hiroshi kenji priya raj
`) {
		m[n] = true
	}
	return m
}()
