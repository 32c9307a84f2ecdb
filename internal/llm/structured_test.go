package llm_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// scripted is a StructuredFunc answering with canned raw outputs in order
// and recording every call.
type scripted struct {
	mu      sync.Mutex
	answers []string
	errs    []error
	calls   []call
}

type call struct {
	task llm.Task
	msgs []llm.Message
}

func (s *scripted) Call(_ context.Context, task llm.Task, msgs []llm.Message) (string, llm.Meta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call{task: task, msgs: msgs})
	i := len(s.calls) - 1
	meta := llm.Meta{Provider: "fake", Model: "fake-1", Usage: llm.Usage{PromptTokens: 100, CompletionTokens: 10}}
	if i < len(s.errs) && s.errs[i] != nil {
		return "", meta, s.errs[i]
	}
	if i >= len(s.answers) {
		return "", meta, errors.New("scripted: no more answers")
	}
	return s.answers[i], meta, nil
}

func setupStructured(answers ...string) (llm.Structured, *scripted) {
	s := &scripted{answers: answers}
	return llm.Structured{Provider: "fake", Call: s.Call}, s
}

const goodSequence = `{"steps":[` +
	`{"step":1,"delay_days":0,"channel":"email","subject":"Hi {{first_name}}","body":"Hello {{first_name}}, worth a call?"},` +
	`{"step":2,"delay_days":3,"channel":"sms","body":"Did you see my email?"}]}`

func sequenceRequest() llm.SequenceRequest {
	return llm.SequenceRequest{
		Lead:     llm.Lead{FirstName: "Ana", Company: "Acme"},
		Channels: []llm.Channel{llm.ChannelEmail, llm.ChannelSMS},
		Length:   2,
	}
}

// violations runs one answer through GenerateSequence with a second answer
// that is also rejected, and returns what the final error lists.
func sequenceViolations(t *testing.T, raw string) []llm.Violation {
	t.Helper()
	s, _ := setupStructured(raw, raw)
	_, err := s.GenerateSequence(context.Background(), sequenceRequest())
	var e *llm.Error
	require.ErrorAs(t, err, &e)
	require.ErrorIs(t, err, llm.ErrInvalidOutput)
	return e.Violations
}

func TestStructuredDecoding(t *testing.T) {
	t.Parallel()

	accepted := []struct {
		name string
		raw  string
	}{
		{name: "AcceptsPlainJSON", raw: goodSequence},
		{name: "AcceptsSurroundingWhitespace", raw: "\n  " + goodSequence + "\n"},
		{name: "AcceptsOneJSONFence", raw: "```json\n" + goodSequence + "\n```"},
		{name: "AcceptsOneBareFence", raw: "```\n" + goodSequence + "\n```"},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, calls := setupStructured(tt.raw)
			res, err := s.GenerateSequence(context.Background(), sequenceRequest())
			require.NoError(t, err)
			require.Len(t, res.Steps, 2)
			require.Len(t, calls.calls, 1)
		})
	}

	rejected := []struct {
		name string
		raw  string
		want llm.Violation
	}{
		{
			name: "RejectsProseAroundTheJSON",
			raw:  "Here is your sequence: " + goodSequence,
			want: llm.Violation{Path: "", Message: "not valid JSON (invalid character 'H' looking for beginning of value at offset 1); return only a JSON object"},
		},
		{
			name: "RejectsAFenceWithTextOutside",
			raw:  "Sure!\n```json\n" + goodSequence + "\n```",
			want: llm.Violation{Path: "", Message: "not valid JSON (invalid character 'S' looking for beginning of value at offset 1); return only a JSON object"},
		},
		{
			name: "RejectsTextAfterTheObject",
			raw:  goodSequence + " Hope this helps!",
			want: llm.Violation{Path: "", Message: "the answer continues after the JSON object; return only the JSON object"},
		},
		{
			name: "RejectsTwoObjects",
			raw:  goodSequence + goodSequence,
			want: llm.Violation{Path: "", Message: "the answer continues after the JSON object; return only the JSON object"},
		},
		{
			name: "RejectsAnEmptyAnswer",
			raw:  "  ",
			want: llm.Violation{Path: "", Message: "the answer is empty; return a JSON object"},
		},
		{
			name: "RejectsACutOffAnswer",
			raw:  `{"steps":[{"step":1`,
			want: llm.Violation{Path: "", Message: "the JSON is cut off; return the complete object"},
		},
		{
			name: "RejectsUnknownFields",
			raw:  `{"steps":[],"notes":"personalised for Ana"}`,
			want: llm.Violation{Path: "", Message: `unknown field "notes"`},
		},
		{
			name: "RejectsWrongTypesWithTheirPath",
			raw:  `{"steps":[{"step":1,"delay_days":"0","channel":"email","subject":"s","body":"b"}]}`,
			want: llm.Violation{Path: "/steps/0/delay_days", Message: "must be an integer, got a JSON string"},
		},
		{
			name: "RejectsUnknownFieldsInAStep",
			raw:  `{"steps":[{"step":1,"delay_days":0,"channel":"email","subject":"s","body":"b","tone":"warm"}]}`,
			want: llm.Violation{Path: "/steps/0", Message: `unknown field "tone"`},
		},
		{
			name: "RejectsAMissingStepsArray",
			raw:  `{}`,
			want: llm.Violation{Path: "/steps", Message: `missing; return {"steps": [...]}`},
		},
		{
			name: "RejectsStepsWithoutRequiredFields",
			raw:  `{"steps":[{"step":1,"delay_days":0,"channel":"email","subject":"s","body":"b"},{"step":2,"delay_days":1,"channel":"sms"}]}`,
			want: llm.Violation{Path: "/steps/1/body", Message: "missing"},
		},
		{
			name: "RejectsContentRulesThroughValidateSequence",
			raw:  `{"steps":[{"step":1,"delay_days":0,"channel":"whatsapp","body":"b"},{"step":2,"delay_days":1,"channel":"sms","body":"b"}]}`,
			want: llm.Violation{Path: "/steps/0/channel", Message: `channel "whatsapp" is not allowed; use one of email, sms`},
		},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, sequenceViolations(t, tt.raw), tt.want)
		})
	}
}

func TestStructuredRepair(t *testing.T) {
	t.Parallel()

	t.Run("SendsTheBadAnswerAndTheViolationsBackOnce", func(t *testing.T) {
		t.Parallel()
		bad := `{"steps":[{"step":1,"delay_days":2,"channel":"email","body":"Hi"},{"step":2,"delay_days":3,"channel":"sms","body":"Hi"}]}`
		s, calls := setupStructured(bad, goodSequence)

		res, err := s.GenerateSequence(context.Background(), sequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		require.Equal(t, llm.Meta{Provider: "fake", Model: "fake-1", Usage: llm.Usage{PromptTokens: 200, CompletionTokens: 20}}, res.Meta)

		require.Len(t, calls.calls, 2)
		first, second := calls.calls[0], calls.calls[1]
		require.Equal(t, llm.TaskSequence, second.task.Name)
		require.Equal(t, first.msgs, second.msgs[:len(first.msgs)], "the original conversation is resent as is")
		require.Len(t, second.msgs, len(first.msgs)+2)
		require.Equal(t, llm.Message{Role: llm.RoleAssistant, Content: bad}, second.msgs[len(first.msgs)])
		repair := second.msgs[len(first.msgs)+1]
		require.Equal(t, llm.RoleUser, repair.Role)
		require.Contains(t, repair.Content, "- /steps/0/delay_days: the first step must have delay_days 0, got 2\n")
		require.Contains(t, repair.Content, "- /steps/0/subject: an email step needs a subject\n")
	})

	t.Run("ShowsAnEmptyAnswerAsSuch", func(t *testing.T) {
		t.Parallel()
		s, calls := setupStructured("", goodSequence)

		_, err := s.GenerateSequence(context.Background(), sequenceRequest())
		require.NoError(t, err)
		msgs := calls.calls[1].msgs
		require.Equal(t, "(empty answer)", msgs[len(msgs)-2].Content)
	})

	t.Run("FailsWithAllViolationsAfterTheSecondRejection", func(t *testing.T) {
		t.Parallel()
		bad := `{"steps":[{"step":1,"delay_days":2,"channel":"email","body":"Hi"},{"step":2,"delay_days":3,"channel":"sms","body":"Hi"}]}`
		s, calls := setupStructured(bad, bad, goodSequence)

		res, err := s.GenerateSequence(context.Background(), sequenceRequest())
		require.ErrorIs(t, err, llm.ErrInvalidOutput)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "fake", e.Provider)
		require.Equal(t, []llm.Violation{
			{Path: "/steps/0/delay_days", Message: "the first step must have delay_days 0, got 2"},
			{Path: "/steps/0/subject", Message: "an email step needs a subject"},
		}, e.Violations)
		require.Contains(t, e.Message, "/steps/0/subject: an email step needs a subject")
		require.Len(t, calls.calls, 2, "exactly one repair round")
		require.Equal(t, llm.Usage{PromptTokens: 200, CompletionTokens: 20}, res.Usage)
	})

	t.Run("ReturnsAProviderErrorWithoutRepairing", func(t *testing.T) {
		t.Parallel()
		s, calls := setupStructured()
		quota := &llm.Error{Kind: llm.ErrQuota, Provider: "fake", Status: http.StatusTooManyRequests, Message: "no credits"}
		calls.errs = []error{quota}

		_, err := s.ClassifyReply(context.Background(), llm.Reply{Body: "hi"}, nil)
		require.ErrorIs(t, err, llm.ErrQuota)
		require.Len(t, calls.calls, 1)
	})

	t.Run("ReturnsAProviderErrorFromTheRepairRound", func(t *testing.T) {
		t.Parallel()
		s, calls := setupStructured("nope")
		calls.errs = []error{nil, &llm.Error{Kind: llm.ErrUnavailable, Provider: "fake", Message: "overloaded"}}

		_, err := s.ClassifyReply(context.Background(), llm.Reply{Body: "hi"}, nil)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.Len(t, calls.calls, 2)
	})

	t.Run("RefusesALengthOutOfRangeWithoutCalling", func(t *testing.T) {
		t.Parallel()
		s, calls := setupStructured()
		req := sequenceRequest()
		req.Length = llm.MaxSequenceLength + 1

		_, err := s.GenerateSequence(context.Background(), req)
		require.ErrorIs(t, err, llm.ErrBadRequest)
		require.Empty(t, calls.calls)
	})
}

func TestStructuredClassification(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsTheClass", func(t *testing.T) {
		t.Parallel()
		s, calls := setupStructured(`{"classification":"out_of_office","confidence":0.97,"reason":"Automatic vacation notice."}`)

		res, err := s.ClassifyReply(context.Background(), llm.Reply{Body: "I am away until Monday."}, nil)
		require.NoError(t, err)
		require.Equal(t, llm.ClassifyResult{
			Meta:           llm.Meta{Provider: "fake", Model: "fake-1", Usage: llm.Usage{PromptTokens: 100, CompletionTokens: 10}},
			Classification: llm.OutOfOffice,
			Confidence:     0.97,
			Reason:         "Automatic vacation notice.",
		}, res)
		require.Equal(t, llm.TaskClassify, calls.calls[0].task.Name)
	})

	t.Run("AcceptsAnUppercaseClass", func(t *testing.T) {
		t.Parallel()
		s, _ := setupStructured(`{"classification":"NOT_INTERESTED","confidence":0.8,"reason":"Says no."}`)

		res, err := s.ClassifyReply(context.Background(), llm.Reply{Body: "no thanks"}, nil)
		require.NoError(t, err)
		require.Equal(t, llm.NotInterested, res.Classification)
	})

	rejected := []struct {
		name string
		raw  string
		want llm.Violation
	}{
		{"RejectsAnUnknownClass", `{"classification":"maybe","confidence":0.5,"reason":"r"}`,
			llm.Violation{Path: "/classification", Message: `"maybe" is not a class; use one of interested, not_interested, question, out_of_office, bounce, unsubscribe, other`}},
		{"RejectsAPercentageConfidence", `{"classification":"question","confidence":85,"reason":"r"}`,
			llm.Violation{Path: "/confidence", Message: "85 is outside 0..1"}},
		{"RejectsANegativeConfidence", `{"classification":"question","confidence":-0.1,"reason":"r"}`,
			llm.Violation{Path: "/confidence", Message: "-0.1 is outside 0..1"}},
		{"RejectsAMissingConfidence", `{"classification":"question","reason":"r"}`,
			llm.Violation{Path: "/confidence", Message: "missing"}},
		{"RejectsAnEmptyReason", `{"classification":"question","confidence":0.5,"reason":" "}`,
			llm.Violation{Path: "/reason", Message: "is empty; give a one-sentence reason"}},
		{"RejectsAStringConfidence", `{"classification":"question","confidence":"high","reason":"r"}`,
			llm.Violation{Path: "/confidence", Message: "must be a number, got a JSON string"}},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := setupStructured(tt.raw, tt.raw)
			_, err := s.ClassifyReply(context.Background(), llm.Reply{Body: "?"}, nil)
			var e *llm.Error
			require.ErrorAs(t, err, &e)
			require.Contains(t, e.Violations, tt.want)
		})
	}
}

func TestStructuredExtraction(t *testing.T) {
	t.Parallel()
	schema := llm.Schema{Fields: []llm.Field{
		{Name: "countries", Type: llm.FieldStringList},
		{Name: "size", Type: llm.FieldEnum, Enum: []string{"1-10", "11-50", "51-200"}},
		{Name: "cta", Type: llm.FieldString},
		{Name: "level", Type: llm.FieldEnum, Enum: []string{"full_autopilot", "approve_list"}},
	}}
	conversation := []llm.Message{{Role: llm.RoleUser, Content: "Portugal and Spain, 11-50 people"}}

	t.Run("KeepsStatedFieldsAndDropsEmptyOnes", func(t *testing.T) {
		t.Parallel()
		s, calls := setupStructured(`{"countries":[" Portugal","Spain",""],"size":"11-50","cta":"","level":null}`)

		res, err := s.Extract(context.Background(), schema, conversation)
		require.NoError(t, err)
		require.Equal(t, map[string]any{"countries": []string{"Portugal", "Spain"}, "size": "11-50"}, res.Fields)
		require.Equal(t, llm.TaskExtract, calls.calls[0].task.Name)
		require.Contains(t, calls.calls[0].task.Schema["properties"], "countries")
	})

	t.Run("NormalisesTheCaseOfEnumValues", func(t *testing.T) {
		t.Parallel()
		s, _ := setupStructured(`{"level":"Full_Autopilot"}`)

		res, err := s.Extract(context.Background(), schema, conversation)
		require.NoError(t, err)
		require.Equal(t, map[string]any{"level": "full_autopilot"}, res.Fields)
	})

	t.Run("MakesNoCallForAnEmptySchema", func(t *testing.T) {
		t.Parallel()
		s, calls := setupStructured()

		res, err := s.Extract(context.Background(), llm.Schema{}, conversation)
		require.NoError(t, err)
		require.Empty(t, res.Fields)
		require.Empty(t, calls.calls)
	})

	rejected := []struct {
		name string
		raw  string
		want llm.Violation
	}{
		{"RejectsAFieldThatWasNotAskedFor", `{"budget":"10k"}`, llm.Violation{Path: "/budget", Message: "is not a requested field; leave it out"}},
		{"RejectsAStringForAList", `{"countries":"Portugal"}`, llm.Violation{Path: "/countries", Message: "must be an array of strings"}},
		{"RejectsAListForAString", `{"cta":["call"]}`, llm.Violation{Path: "/cta", Message: "must be a string"}},
		{"RejectsAValueOutsideTheEnum", `{"size":"huge"}`, llm.Violation{Path: "/size", Message: `"huge" is not allowed; use one of 1-10, 11-50, 51-200`}},
		{"RejectsAnArrayAnswer", `["Portugal"]`, llm.Violation{Path: "", Message: "must be an object, got a JSON array"}},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := setupStructured(tt.raw, tt.raw)
			_, err := s.Extract(context.Background(), schema, conversation)
			var e *llm.Error
			require.ErrorAs(t, err, &e)
			require.Contains(t, e.Violations, tt.want)
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()

	t.Run("MapsStatusesToKinds", func(t *testing.T) {
		t.Parallel()
		for status, want := range map[int]error{
			401: llm.ErrInvalidKey, 403: llm.ErrInvalidKey, 402: llm.ErrQuota, 404: llm.ErrModelNotFound,
			408: llm.ErrUnavailable, 429: llm.ErrRateLimited, 500: llm.ErrUnavailable, 529: llm.ErrUnavailable,
			400: llm.ErrBadRequest, 422: llm.ErrBadRequest,
		} {
			require.Equal(t, want, llm.KindForStatus(status), "status %d", status)
		}
	})

	t.Run("KeepsTheCallersCancellation", func(t *testing.T) {
		t.Parallel()
		err := llm.TransportError("openai", context.Canceled)
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, llm.ErrUnavailable)
	})

	t.Run("ReportsTimeoutsAndConnectionFailuresAsUnavailable", func(t *testing.T) {
		t.Parallel()
		require.ErrorIs(t, llm.TransportError("openai", context.DeadlineExceeded), llm.ErrUnavailable)
		err := llm.TransportError("openai", errors.New("dial tcp: connection refused"))
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.ErrorContains(t, err, "connection refused")
	})

	t.Run("RedactsTheKey", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "bad key [redacted] given", llm.ScrubKey("bad key sk-123456 given", "sk-123456"))
		require.Equal(t, "unchanged", llm.ScrubKey("unchanged", ""))
		require.False(t, strings.Contains(llm.ScrubKey("sk-123456sk-123456", "sk-123456"), "sk-"))
	})
}
