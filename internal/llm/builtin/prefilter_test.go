package builtin

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// patterns are the rules' alternations by name.
func patterns() map[string]*alternation {
	return map[string]*alternation{
		"bounceSubjectRe": bounceSubjectRe,
		"delaySubjectRe":  delaySubjectRe,
		"delayBodyRe":     delayBodyRe,
		"failedActionRe":  failedActionRe,
		"statusCodeRe":    statusCodeRe,
		"bouncePhraseRe":  bouncePhraseRe,
		"smtpCodeRe":      smtpCodeRe,
		"daemonLocalRe":   daemonLocalRe,
		"daemonNameRe":    daemonNameRe,
		"oooSubjectRe":    oooSubjectRe,
		"oooPhraseRe":     oooPhraseRe,
		"leftCompanyRe":   leftCompanyRe,
		"autoAckRe":       autoAckRe,
		"stopWords":       stopWords,
		"unsubRe":         unsubRe,
		"channelNoRe":     channelNoRe,
		"askEmailRe":      askEmailRe,
		"notAListRe":      notAListRe,
		"notInterestedRe": notInterestedRe,
		"weakDeclineRe":   weakDeclineRe,
		"noWordsRe":       noWordsRe,
		"notGapRe":        notGapRe,
		"clauseWordRe":    clauseWordRe,
		"alreadyRe":       alreadyRe,
		"freeTimeRe":      freeTimeRe,
		"callChannelRe":   callChannelRe,
		"interestWord":    interestWord,
		"interestedRe":    interestedRe,
		"calendarRe":      calendarRe,
		"negationRe":      negationRe,
		"clauseRe":        clauseRe,
		"questionTopicRe": questionTopicRe,
		"questionStartRe": questionStartRe,
		"onWroteRe":       onWroteRe,
		"wroteEndRe":      wroteEndRe,
		"separatorRe":     separatorRe,
		"headerFromRe":    headerFromRe,
		"headerSentRe":    headerSentRe,
		"sentFromRe":      sentFromRe,
		"replyAboveRe":    replyAboveRe,
	}
}

// corpus is text the rules read: the labelled replies' bodies and
// subjects, raw, normalised and line by line, and a few made up.
func corpus(t testing.TB) []string {
	out := []string{"", " ", "STOP", "no", "Ŝtatus: 5.1.1", "ſtatus: 5.1.1 user unknown", "KELVIN \u212a", "on tue, sam wrote:",
		"550 5.1.1 <a@b.c>: Recipient address rejected: User unknown", "i'm out of the office until monday the 14th",
		"please don't call me, email me", "we already have a slot open tuesday", "ÜBER interested?", "\xff\xfe invalid"}
	for _, path := range []string{"testdata/replies.json", "testdata/replies_round2.json", "testdata/replies_holdout.json", "testdata/replies_review.json"} {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		var samples []struct{ Subject, Body string }
		require.NoError(t, json.Unmarshal(raw, &samples))
		for _, s := range samples {
			for _, x := range []string{s.Subject, s.Body} {
				out = append(out, x, normalise(x), strings.ToUpper(x))
				out = append(out, strings.Split(x, "\n")...)
			}
		}
	}
	return out
}

// same checks that a answers as its whole pattern does on text.
func same(t *testing.T, name string, a *alternation, text string) {
	t.Helper()
	require.Equal(t, a.full.MatchString(text), a.MatchString(text), "%s MatchString %q", name, text)
	require.Equal(t, a.full.FindString(text), a.FindString(text), "%s FindString %q", name, text)
	require.Equal(t, a.full.FindAllStringIndex(text, -1), a.FindAllStringIndex(text, -1), "%s FindAllStringIndex %q", name, text)
}

func TestAlternationAnswersAsTheWholePattern(t *testing.T) {
	t.Parallel()
	texts := corpus(t)
	for name, a := range patterns() {
		for _, text := range texts {
			same(t, name, a, text)
		}
	}
}

func TestAlternationRulesOutByLiterals(t *testing.T) {
	t.Parallel()
	a := mustAlternation(`\bnot (really )?interested\b|\bno thanks?\b|[0-9]+ days?|(?:yes|sure)!`)
	require.Equal(t, []string{`\bnot (really )?interested\b`, `\bno thanks?\b`, `[0-9]+ days?`, `(?:yes|sure)!`}, a.alts)
	require.Equal(t, [][]string{{"interested"}, {"no thank"}, {" day"}, {"yes", "sure"}}[1:], a.need[1:])
	require.NotEmpty(t, a.need[0])
	require.Nil(t, a.pick("nothing to see"), "no alternative can match")
	require.Same(t, a.full, a.pick("not interested, no thanks, 3 days, yes!"), "all can: the whole pattern")
	sub := a.pick("no thanks")
	require.NotNil(t, sub)
	require.Equal(t, `\bno thanks?\b`, sub.String())
	require.Same(t, sub, a.pick("oh no thank you"), "compiled once")

	fold := mustAlternation(`(?i)mail delivery (subsystem|system)|mailer-daemon`)
	require.Equal(t, "(?i)", fold.flags)
	require.True(t, fold.fold)
	require.Equal(t, "(?i)mailer-daemon", fold.pick("MAILER-DAEMON@x").String())
	require.Same(t, fold.full, fold.pick("Mail Delivery Sy\u017ftem"), "not ASCII: the whole pattern")
	require.True(t, fold.MatchString("Mail Delivery Sy\u017ftem"))

	require.Equal(t, []string{`a[|(]b`, `(c|d)`, `\|`}, splitTop(`a[|(]b|(c|d)|\|`))
	require.True(t, slices.Equal([]string{"x"}, splitTop("x")))
}

// FuzzAlternation checks that every rule's alternation answers as its
// whole pattern does, on any text.
func FuzzAlternation(f *testing.F) {
	for _, s := range corpus(f)[:200] {
		f.Add(s)
	}
	all := patterns()
	f.Fuzz(func(t *testing.T, text string) {
		for name, a := range all {
			same(t, name, a, text)
			same(t, name, a, normalise(text))
		}
	})
}
