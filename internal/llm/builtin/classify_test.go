package builtin_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
)

// replySample is one reply of testdata/replies.json, labelled by hand.
type replySample struct {
	ID       string              `json:"id"`
	Label    llm.Classification  `json:"label"`
	From     string              `json:"from"`
	Subject  string              `json:"subject"`
	Headers  map[string][]string `json:"headers"`
	Body     string              `json:"body"`
	Original string              `json:"original"`
}

// replySets are the labelled replies, in the order they were written.
// replies.json came first and the rules were improved against it;
// replies_round2.json was written after that, measured untouched, and
// then used to improve the rules again; replies_holdout.json was written
// last and the rules were not changed for it, so its accuracy is the
// honest estimate for replies the rules have not seen.
// replies_review.json holds the misfires a reviewer found after that
// (and a few variants of them), and the rules were fixed against it, so
// it is a regression set, not an estimate.
var replySets = []string{"testdata/replies.json", "testdata/replies_round2.json", "testdata/replies_holdout.json", "testdata/replies_review.json"}

func loadReplies(t *testing.T, path string) []replySample {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var samples []replySample
	require.NoError(t, json.Unmarshal(raw, &samples))
	return samples
}

var allClasses = []llm.Classification{
	llm.Bounce, llm.OutOfOffice, llm.Unsubscribe, llm.NotInterested, llm.Interested, llm.Question, llm.Other,
}

func TestClassifyReplyAccuracy(t *testing.T) {
	t.Parallel()

	p := builtin.New()
	var samples []replySample
	setOf := map[string]string{}
	for _, path := range replySets {
		for _, s := range loadReplies(t, path) {
			setOf[s.ID] = path
			samples = append(samples, s)
		}
	}

	t.Run("TheTestSetCoversEveryClass", func(t *testing.T) {
		t.Parallel()
		require.GreaterOrEqual(t, len(samples), 48)
		seen := map[string]bool{}
		for _, s := range samples {
			require.Contains(t, allClasses, s.Label, "sample %s", s.ID)
			require.False(t, seen[s.ID], "duplicate id %s", s.ID)
			seen[s.ID] = true
		}
		for _, c := range allClasses {
			require.True(t, slices.ContainsFunc(samples, func(s replySample) bool { return s.Label == c }), "no sample for %s", c)
		}
	})

	t.Run("ReachesNinetyPercentAndGetsEveryBounceAndAutoReplyRight", func(t *testing.T) {
		t.Parallel()

		confusion := map[llm.Classification]map[llm.Classification]int{}
		correct := 0
		setRight, setTotal := map[string]int{}, map[string]int{}
		var misses []string
		for _, s := range samples {
			reply := llm.Reply{From: s.From, Subject: s.Subject, Body: s.Body, Headers: s.Headers}
			var orig *llm.Original
			if s.Original != "" {
				orig = &llm.Original{Body: s.Original}
			}
			res, err := p.ClassifyReply(t.Context(), reply, orig)
			require.NoError(t, err)
			require.NotEmpty(t, res.Reason, "sample %s", s.ID)
			require.True(t, strings.HasPrefix(res.Reason, string(res.Classification)+":"), "reason %q names the rule's class", res.Reason)
			require.Greater(t, res.Confidence, 0.0)
			require.LessOrEqual(t, res.Confidence, 1.0)

			if confusion[s.Label] == nil {
				confusion[s.Label] = map[llm.Classification]int{}
			}
			confusion[s.Label][res.Classification]++
			setTotal[setOf[s.ID]]++
			if res.Classification == s.Label {
				correct++
				setRight[setOf[s.ID]]++
			} else {
				misses = append(misses, fmt.Sprintf("%s: want %s, got %s (%s)", s.ID, s.Label, res.Classification, res.Reason))
			}
			if s.Label == llm.Bounce || s.Label == llm.OutOfOffice {
				require.Equal(t, s.Label, res.Classification, "sample %s: %s", s.ID, res.Reason)
			}
		}

		acc := float64(correct) / float64(len(samples))
		t.Logf("builtin classifier accuracy: %d/%d = %.1f%%", correct, len(samples), 100*acc)
		for _, path := range replySets {
			t.Logf("  %s: %d/%d = %.1f%%", path, setRight[path], setTotal[path], 100*float64(setRight[path])/float64(setTotal[path]))
		}
		for _, want := range allClasses {
			row := confusion[want]
			total, parts := 0, []string{}
			for _, got := range allClasses {
				if n := row[got]; n > 0 {
					total += n
					parts = append(parts, fmt.Sprintf("%s=%d", got, n))
				}
			}
			t.Logf("  %-15s %2d/%2d right; predicted: %s", want, row[want], total, strings.Join(parts, " "))
		}
		for _, m := range misses {
			t.Logf("  miss: %s", m)
		}
		require.GreaterOrEqual(t, acc, 0.9)
	})
}

func TestClassifyReply(t *testing.T) {
	t.Parallel()

	p := builtin.New()
	tests := []struct {
		name     string
		reply    llm.Reply
		original *llm.Original
		want     llm.Classification
		reason   string
	}{
		{
			name:  "IgnoresInterestInTheQuotedOriginal",
			reply: llm.Reply{Body: "No thanks.\n\nOn Mon, 3 Mar 2025 at 10:00, Sam <sam@x.io> wrote:\n> Interested in a call? Let's talk!"},
			want:  llm.NotInterested,
		},
		{
			name:  "IgnoresGmailTwoLineAttribution",
			reply: llm.Reply{Body: "Thanks!\n\nOn Mon, Mar 3, 2025 at 10:00 AM Sam Carter <sam@leadpilot.io>\nwrote:\n\nWould you be interested in a quick call?"},
			want:  llm.Other,
		},
		{
			name:  "IgnoresAnOutlookHeaderBlock",
			reply: llm.Reply{Body: "Thanks for the note.\n\nFrom: Sam Carter <sam@leadpilot.io>\nSent: Monday, March 3, 2025 10:00 AM\nTo: Jo\nSubject: Hi\n\nAre you interested? Book a call here."},
			want:  llm.Other,
		},
		{
			name:     "CutsAtTheOriginalOutreachWhenItIsQuotedWithoutMarkers",
			reply:    llm.Reply{Body: "Ok.\n\nI came across Acme and had an idea I thought was worth sharing. Interested in a quick call?"},
			original: &llm.Original{Body: "Hi Jo,\n\nI came across Acme and had an idea I thought was worth sharing. Interested in a quick call?"},
			want:     llm.Other,
		},
		{
			name:  "IgnoresTheSignatureAfterTheDelimiter",
			reply: llm.Reply{Body: "Will read it later.\n-- \nJo | Interested in partnering? Book a call: calendly.com/jo"},
			want:  llm.Other,
		},
		{
			name:  "ReadsNotInterestedAsNotInterested",
			reply: llm.Reply{Body: "We're not really interested."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsANegatedInterestAsNoInterest",
			reply: llm.Reply{Body: "I wouldn't be interested"},
			want:  llm.NotInterested,
		},
		{
			name:   "ReadsInterestUnderANegationAsNoInterest",
			reply:  llm.Reply{Body: "I don't think we'd be interested at this stage."},
			want:   llm.NotInterested,
			reason: "negated interest",
		},
		{
			name:   "ReadsANegatedBookingAsNoInterest",
			reply:  llm.Reply{Body: "We would never book a call off a cold email."},
			want:   llm.NotInterested,
			reason: "negated interest",
		},
		{
			name:  "KeepsInterestAfterAClauseWithANegation",
			reply: llm.Reply{Body: "Not sure about timing, but I'd love to hear more."},
			want:  llm.Interested,
		},
		{
			name:  "TreatsPleaseDontHesitateAsPositive",
			reply: llm.Reply{Body: "Please don't hesitate to send the deck over, sounds good."},
			want:  llm.Interested,
		},
		{
			name:  "PrefersUnsubscribeOverNotInterested",
			reply: llm.Reply{Body: "Not interested. Remove me from your list."},
			want:  llm.Unsubscribe,
		},
		{
			name:  "TreatsTheSMSKeywordWithPunctuationAsUnsubscribe",
			reply: llm.Reply{Body: "  Stop. "},
			want:  llm.Unsubscribe,
		},
		{
			name:  "DoesNotReadStopInsideASentenceAsTheKeyword",
			reply: llm.Reply{Body: "Stop by our booth at the expo, we'd love to chat."},
			want:  llm.Interested,
		},
		{
			name:  "LetsAPersonalReplyWithAbsenceWordingKeepItsIntent",
			reply: llm.Reply{Body: "I'm on vacation this week but yes, let's talk when I'm back."},
			want:  llm.Interested,
		},
		{
			name:   "NamesTheHeaderThatMadeItAnAutoReply",
			reply:  llm.Reply{Headers: map[string][]string{"auto-submitted": {"auto-replied"}}, Body: "I am out of the office until Monday."},
			want:   llm.OutOfOffice,
			reason: "Auto-Submitted: auto-replied",
		},
		{
			name:   "IgnoresAutoSubmittedNo",
			reply:  llm.Reply{Headers: map[string][]string{"Auto-Submitted": {"no"}}, Body: "Sounds good, let's talk."},
			want:   llm.Interested,
			reason: "sounds good",
		},
		{
			name:  "ReadsAReadReceiptAsOther",
			reply: llm.Reply{Subject: "Read: Hello", Headers: map[string][]string{"Content-Type": {"multipart/report; report-type=disposition-notification"}}, Body: "Your message was read."},
			want:  llm.Other,
		},
		{
			name:  "AsksAQuestionWithoutAQuestionMark",
			reply: llm.Reply{Body: "I was wondering whether you work with agencies"},
			want:  llm.Question,
		},
		{
			name:  "CallsAnEmptyReplyOther",
			reply: llm.Reply{Body: "> only quoted text"},
			want:  llm.Other,
		},

		// Bounce wording counts only with a sign the mail system wrote it.
		{
			name:  "DoesNotReadAPersonsFullInboxAsABounce",
			reply: llm.Reply{From: "Jo <jo@acme.com>", Subject: "Re: Quick question", Body: "My inbox is full of pitches like this. Not interested."},
			want:  llm.NotInterested,
		},
		{
			name:  "DoesNotReadBounceWordingAloneAsABounce",
			reply: llm.Reply{From: "Jo <jo@acme.com>", Subject: "Re: Quick question", Body: "Mailbox full, sorry - resend next week?"},
			want:  llm.Question,
		},
		{
			name:   "ReadsBounceWordingWithAnSMTPStatusAsABounce",
			reply:  llm.Reply{From: "relay@mx.acme.com", Subject: "Message not sent", Body: "Delivery to jo@acme.com failed.\nRemote server said: 552 Mailbox full"},
			want:   llm.Bounce,
			reason: "SMTP status",
		},
		{
			name:   "ReadsBounceWordingWithAFailedRecipientsHeaderAsABounce",
			reply:  llm.Reply{From: "gateway@mx.acme.com", Subject: "Message not sent", Headers: map[string][]string{"X-Failed-Recipients": {"jo@acme.com"}}, Body: "The recipient's inbox is full."},
			want:   llm.Bounce,
			reason: "X-Failed-Recipients",
		},
		{
			name:  "ReadsBounceWordingInADeliveryReportAsABounce",
			reply: llm.Reply{From: "gateway@mx.acme.com", Subject: "Message not sent", Headers: map[string][]string{"Content-Type": {"message/delivery-status"}}, Body: "User unknown"},
			want:  llm.Bounce,
		},

		// "Don't call me" declines a channel when the reply asks for email
		// or says yes; a cc or a thread is not our list.
		{
			name:  "ReadsDontCallMeButEmailMeAsInterested",
			reply: llm.Reply{Body: "Don't call me, but email me the pricing… happy to chat."},
			want:  llm.Interested,
		},
		{
			name:  "ReadsDontCallJustEmailThePricingAsInterested",
			reply: llm.Reply{Body: "Don't call me, just email me the pricing."},
			want:  llm.Interested,
		},
		{
			name:  "ReadsPleaseDontCallEmailInsteadAsNoUnsubscribe",
			reply: llm.Reply{Body: "Please don't call me, email me instead."},
			want:  llm.Other,
		},
		{
			name:  "ReadsInterestWithDontCallAsInterested",
			reply: llm.Reply{Body: "Interested, but don't call me — send me the deck by email."},
			want:  llm.Interested,
		},
		{
			name:  "ReadsDontCallMeAloneAsUnsubscribe",
			reply: llm.Reply{Body: "Please don't call me."},
			want:  llm.Unsubscribe,
		},
		{
			name:  "ReadsDontContactMeAsUnsubscribe",
			reply: llm.Reply{Body: "Don't contact me. Not interested."},
			want:  llm.Unsubscribe,
		},
		{
			name:  "ReadsDontEmailMeAsUnsubscribeEvenWithAYes",
			reply: llm.Reply{Body: "Sounds good, but don't email me, call me on 555-0100."},
			want:  llm.Unsubscribe,
		},
		{
			name:  "ReadsRemoveMeFromTheCcWithAYesAsInterested",
			reply: llm.Reply{Body: "Yes! Could you remove me from the cc and loop in Jane?"},
			want:  llm.Interested,
		},
		{
			name:  "DoesNotReadRemoveMeFromThisThreadAsUnsubscribe",
			reply: llm.Reply{Body: "Please remove me from this thread, Jane owns this now."},
			want:  llm.Other,
		},
		{
			name:  "DoesNotReadTakeMeOffTheCcAsUnsubscribe",
			reply: llm.Reply{Body: "Take me off the cc please, Jane handles this."},
			want:  llm.Other,
		},
		{
			name:  "StillReadsRemoveMeFromYourListAsUnsubscribe",
			reply: llm.Reply{Body: "Remove me from your list."},
			want:  llm.Unsubscribe,
		},

		// Absence wording is anchored; budget and timing are objections.
		{
			name:  "ReadsOutOfBudgetAsNotInterested",
			reply: llm.Reply{Body: "We're currently out of budget"},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsHoldingOffAsNotInterested",
			reply: llm.Reply{Body: "We're holding off until next year"},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsBackInTouchAsNoAbsence",
			reply: llm.Reply{Body: "I'll be back in touch after I talk to my team"},
			want:  llm.Other,
		},
		{
			name:  "ReadsRevisitLaterAsNotInterested",
			reply: llm.Reply{Body: "Let's revisit later in the year."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsAProjectOnHoldAsNotInterested",
			reply: llm.Reply{Body: "The project is on hold for now."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsMaybeNextYearAsNotInterested",
			reply: llm.Reply{Body: "Maybe next year."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsNotThisYearAsNotInterested",
			reply: llm.Reply{Body: "Not this year, sorry."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsAwayUntilADateAsOutOfOffice",
			reply: llm.Reply{Body: "I'm away until Monday 12 May."},
			want:  llm.OutOfOffice,
		},
		{
			name:  "ReadsOffUntilADateAsOutOfOffice",
			reply: llm.Reply{Body: "I'm off until the 14th."},
			want:  llm.OutOfOffice,
		},
		{
			name:  "ReadsBackOnADayAsOutOfOffice",
			reply: llm.Reply{Body: "Travelling this week, I'll be back on Tuesday."},
			want:  llm.OutOfOffice,
		},
		{
			name:  "ReadsLimitedAccessToEmailAsOutOfOffice",
			reply: llm.Reply{Body: "At a conference with limited access to email."},
			want:  llm.OutOfOffice,
		},

		// Free time and a hedged yes are interest; a bare no is a decline.
		{
			name:  "ReadsAFreeSlotAsInterested",
			reply: llm.Reply{Body: "I already have a slot open Tuesday at 3pm"},
			want:  llm.Interested,
		},
		{
			name:  "StillReadsAnIncumbentAsNotInterested",
			reply: llm.Reply{Body: "We already have a tool for this."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsNotSureButInterestedAsInterested",
			reply: llm.Reply{Body: "Not sure but interested. Send me more info."},
			want:  llm.Interested,
		},
		{
			name:  "StillReadsNotVeryInterestedAsNotInterested",
			reply: llm.Reply{Body: "Not very interested, thanks."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsABareNoAsNotInterested",
			reply: llm.Reply{Body: "No."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsNopeAsNotInterested",
			reply: llm.Reply{Body: "Nope"},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsNoThanksAsNotInterested",
			reply: llm.Reply{Body: "No thanks."},
			want:  llm.NotInterested,
		},
		{
			name:  "ReadsNoAboveTheQuoteAsNotInterested",
			reply: llm.Reply{Body: "No.\n\nOn Mon, 3 Mar 2025 at 10:00, Sam <sam@x.io> wrote:\n> Would you like a demo?"},
			want:  llm.NotInterested,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.ClassifyReply(t.Context(), tt.reply, tt.original)
			require.NoError(t, err)
			require.Equal(t, tt.want, res.Classification, res.Reason)
			require.Equal(t, "builtin", res.Provider)
			require.Equal(t, "builtin-rules-v1", res.Model)
			if tt.reason != "" {
				require.Contains(t, res.Reason, tt.reason)
			}
		})
	}
}

// TestClassifyReplyReadsOnlyTheStartOfAHugeBody checks the cap on the text
// the rules read: a multi-megabyte body is classified by its start, its
// headers still count, and it takes about as long as a body the size of
// the cap. Before the cap a 4 MB body took seconds to tens of seconds. It
// does not run in parallel, so the times it compares are its own.
func TestClassifyReplyReadsOnlyTheStartOfAHugeBody(t *testing.T) {
	t.Parallel()
	p := builtin.New()
	sentence := "We read every line of the report about interest rates and it was long. "
	huge := strings.Repeat(sentence, (4<<20)/len(sentence))
	classify := func(t *testing.T, reply llm.Reply) llm.ClassifyResult {
		t.Helper()
		res, err := p.ClassifyReply(t.Context(), reply, nil)
		require.NoError(t, err)
		return res
	}

	t.Run("ReadsTheStartAndIgnoresWordsBeyondTheCap", func(t *testing.T) {
		t.Parallel()
		res := classify(t, llm.Reply{Body: "Sounds good, let's talk.\n" + huge + "\nUnsubscribe"})
		require.Equal(t, llm.Interested, res.Classification, res.Reason)
	})
	t.Run("StillReadsTheHeaders", func(t *testing.T) {
		t.Parallel()
		quoted := strings.Repeat("> "+sentence+"\n", (4<<20)/len(sentence))
		res := classify(t, llm.Reply{Headers: map[string][]string{"Auto-Submitted": {"auto-replied"}}, Body: quoted})
		require.Equal(t, llm.OutOfOffice, res.Classification, res.Reason)
		res = classify(t, llm.Reply{Headers: map[string][]string{"Content-Type": {"multipart/report; report-type=delivery-status"}}, Body: huge})
		require.Equal(t, llm.Bounce, res.Classification, res.Reason)
	})
}

// BenchmarkClassifyReplyHugeBody measures that the cost of a reply is
// bounded by the text cap: 4 MB bodies (plain, a repeated trigger phrase,
// quoted lines) against a body exactly at the cap, in the same run. The
// x_capped metric is the ratio; it should stay near 1.
func BenchmarkClassifyReplyHugeBody(b *testing.B) {
	p := builtin.New()
	sentence := "We read every line of the report about interest rates and it was long. "
	huge := strings.Repeat(sentence, (4<<20)/len(sentence))
	run := func(b *testing.B, body string) float64 {
		for b.Loop() {
			if _, err := p.ClassifyReply(b.Context(), llm.Reply{Body: body}, nil); err != nil {
				b.Fatal(err)
			}
		}
		return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	}
	var base float64
	b.Run("AtTheCap", func(b *testing.B) { base = run(b, huge[:20_000]) })
	for name, body := range map[string]string{
		"Plain4MB":           huge,
		"RepeatedTrigger4MB": strings.Repeat("please don't call me, email me. ", (4<<20)/32),
		"QuotedLines4MB":     strings.Repeat("> q\n", (4<<20)/4),
	} {
		b.Run(name, func(b *testing.B) {
			ns := run(b, body)
			b.ReportMetric(ns/base, "x_capped")
		})
	}
}
